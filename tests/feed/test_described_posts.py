"""Posts outside the pools, described for For You's extras (followed, similar, co-engaged,
the viewer's positives): one statement decoded by psycopg (`published_meta_tuples`, the
hashtags taken from the caption's entities by PostgreSQL) gives the catalogue that the
rows' dicts with `entity_hashtags` gave, and the text vectors read in pgvector's binary
form are the stored ones."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from apps.content.captions import entity_hashtags
from apps.content.models import Post
from apps.feed import interactions
from apps.feed.models import EMBEDDING_DIM, PostEmbedding
from apps.feed.pools import Catalogue, embeddings_of, published_meta_tuples
from apps.feed.pools.queries import META_FIELDS
from apps.feed.serving.sources import DescribedPosts
from tests.factories import UserFactory
from tests.feed.conftest import make_post

NOW = 1.8e9
COLUMNS = ("ids", "author", "sound", "language", "duration", "views", "likes", "comments",
           "shares", "impressions", "completions", "new_creator", "hashtags", "restricted",
           "country", "trend_windows")


def _entities(*names: Any) -> list[Any]:
    return [{"type": "hashtag", "name": n, "text": f"#{n}"} for n in names]


def _as_before(post_ids: list[int]) -> Catalogue:
    """What the feed built before: the rows as dicts, the hashtags by `entity_hashtags`."""
    rows = list(Post.objects.filter(pk__in=post_ids, status=Post.Status.PUBLISHED)
                .values(*META_FIELDS, "caption_entities").order_by("pk"))
    for row in rows:
        row["tags"] = entity_hashtags(row.pop("caption_entities"))
    return Catalogue.from_rows(rows, stats=interactions.PostStats(), now=NOW)


@pytest.mark.django_db
def test_posts_are_described_as_the_rows_with_entity_hashtags_described_them() -> None:
    author = UserFactory(country="fr", language="pt-BR")
    posts = [make_post(tags=("travel", "Food"), author=author, views_count=7, likes_count=3,
                       language="pt-BR", age_restricted=True),
             make_post(tags=(), views_count=1),
             make_post(tags=("x",), comments_count=4, shares_count=2)]
    weird = [
        # repeated names (kept once, in caption order), one differing only in case (kept:
        # lower-cased later), empty and missing names, other entity types, non-objects
        [*_entities("Cat", "dog", "Cat", "cat", ""), {"type": "hashtag"},
         {"type": "mention", "name": "bob"}, "stray", 3, {"name": "no type"}],
        {"not": "a list"},
        [],
    ]
    for post, entities in zip(posts, weird, strict=True):
        Post.objects.filter(pk=post.pk).update(caption_entities=entities)
    draft = make_post(tags=("hidden",), status=Post.Status.DRAFT)
    ids = [p.pk for p in posts] + [draft.pk]

    rows = sorted(published_meta_tuples(ids), key=lambda r: r[0])
    now = Catalogue.from_tuples(rows, stats=interactions.PostStats(), now=NOW)
    before = _as_before(ids)

    assert now.ids.tolist() == sorted(p.pk for p in posts)  # the draft is not described
    for name in COLUMNS:
        a, b = getattr(now, name), getattr(before, name)
        if isinstance(a, np.ndarray):
            assert a.dtype == b.dtype, name
            assert np.array_equal(a, b), name
        else:
            assert a == b, name
    # Times: the epoch from PostgreSQL, against Python's from the datetime.
    assert np.allclose(now.published, before.published, rtol=0, atol=1e-5)
    assert np.allclose(now.trend, before.trend, rtol=1e-6)
    first = now.index[posts[0].pk]
    assert now.hashtags[first] == ("cat", "dog", "cat")
    assert now.language[first] == "pt"
    assert now.country[first] == "FR"
    assert now.restricted is not None
    assert bool(now.restricted[first])
    assert now.hashtags[now.index[posts[1].pk]] == ()


@pytest.mark.django_db
def test_described_posts_keep_asked_order_without_a_stamp() -> None:
    posts = [make_post(tags=("a",)), make_post(tags=("b",))]
    cat = DescribedPosts().catalogue([posts[1].pk, posts[0].pk, posts[1].pk], "")
    assert cat is not None
    assert cat.ids.tolist() == [posts[1].pk, posts[0].pk, posts[1].pk]
    assert cat.hashtags == [("b",), ("a",), ("b",)]
    assert published_meta_tuples([]) == []


@pytest.mark.django_db
def test_text_vectors_are_read_as_stored() -> None:
    posts = [make_post(), make_post(), make_post()]
    rng = np.random.default_rng(7)
    stored = {}
    for post in posts[:2]:
        vec = rng.standard_normal(EMBEDDING_DIM).astype(np.float32)
        vec /= np.linalg.norm(vec)
        PostEmbedding.objects.create(post=post, vector=vec.tolist(), text_hash="x")
        stored[post.pk] = vec
    found = embeddings_of([p.pk for p in posts])
    assert set(found) == set(stored)  # the post without a vector is absent
    for pid, vec in stored.items():
        assert found[pid].dtype == np.float32
        assert found[pid].shape == (EMBEDDING_DIM,)
        assert np.array_equal(found[pid], vec)
    assert embeddings_of([]) == {}
