"""Reading the catalogue from PostgreSQL: which posts may be recommended to a stranger,
their metadata rows (ORM and one raw statement for the hot path) and their text
embeddings (by id, nearest neighbours)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
from django.contrib.postgres.aggregates import ArrayAgg
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.content.audience import protected_minor_author_q, recommendable_q
from apps.content.models import Post
from apps.content.selectors import visible_to_q
from apps.feed.models import EMBEDDING_DIM, PostEmbedding
from apps.feed.pools.catalogue import Pools
from apps.media.models import MediaAsset
from apps.social.selectors import discoverable_q

CATALOGUE_WINDOW = timedelta(days=90)
META_FIELDS = ("id", "author_id", "sound_id", "language", "published_at", "asset__duration_ms",
               "views_count", "likes_count", "comments_count", "shares_count",
               "favourites_count", "author__date_joined", "age_restricted", "author__country")


def recommendable_posts() -> QuerySet[Post]:
    """Posts a stranger may be recommended (the global pools): what a signed-out viewer may
    see and be recommended, plus age-restricted posts (flagged: only adults get them).
    Viewer-specific rules (blocks, mutes, minors, followers-only) are applied again at
    serving time on the page itself."""
    since = timezone.now() - CATALOGUE_WINDOW
    anyone = visible_to_q(None) & recommendable_q(None)
    adults = (Q(status=Post.Status.PUBLISHED, visibility=Post.Visibility.PUBLIC,
                author__is_private=False, limited_reach=False, age_restricted=True)
              & discoverable_q("author__") & ~protected_minor_author_q())
    return Post.objects.filter(anyone | adults, published_at__gte=since)


def meta_rows(posts: QuerySet[Post]) -> list[dict[str, Any]]:
    return list(posts.annotate(tags=ArrayAgg("post_hashtags__hashtag__name",
                                             filter=Q(post_hashtags__isnull=False),
                                             default=[]))
                .values(*META_FIELDS, "tags"))


_COLUMNS_SQL: str | None = None


def _columns_select() -> str:
    """catalogue.COLUMNS as SQL (p: the post), the hashtags taken from the caption's
    entities by PostgreSQL (`entity_hashtags`' rule for the string names the caption parser
    writes: type "hashtag", in caption order; the empty and repeated ones are dropped by
    `Catalogue.from_tuples`' caller)."""
    return (
        "SELECT p.id, p.author_id, p.sound_id, p.language, "  # noqa: S608 - the models' tables
        "EXTRACT(EPOCH FROM p.published_at)::float8, a.duration_ms, p.views_count, "
        "p.likes_count, p.comments_count, p.shares_count, p.favourites_count, "
        "EXTRACT(EPOCH FROM u.date_joined)::float8, p.age_restricted, u.country, "
        "ARRAY(SELECT e ->> 'name' FROM jsonb_array_elements(CASE WHEN "
        "jsonb_typeof(p.caption_entities) = 'array' THEN p.caption_entities ELSE "
        "'[]'::jsonb END) WITH ORDINALITY AS t(e, o) WHERE e ->> 'type' = 'hashtag' "
        f"ORDER BY o) FROM {Post._meta.db_table} p "
        f"JOIN {MediaAsset._meta.db_table} a ON a.id = p.asset_id "
        f"JOIN {User._meta.db_table} u ON u.id = p.author_id "
        "WHERE p.status = %(published)s AND p.id = ANY(%(ids)s)")


def published_meta_tuples(post_ids: list[int]) -> list[tuple[Any, ...]]:
    """The published posts among `post_ids` as `Catalogue.from_tuples` reads them, in one
    statement whose values psycopg decodes in C (ids, numbers, the hashtags as text[]): no
    dict per row, no JSON decoded in Python. What For You reads for posts outside the
    pools (a viewer's first page describes ~100). The safety rules still run once, on the
    shortlist (serving's `allowed`)."""
    global _COLUMNS_SQL
    if not post_ids:
        return []
    if _COLUMNS_SQL is None:
        _COLUMNS_SQL = _columns_select()
    with connection.cursor() as cursor:
        cursor.execute(_COLUMNS_SQL, {"ids": post_ids, "published": Post.Status.PUBLISHED})
        rows = cursor.fetchall()
    # entity_hashtags keeps each name once, in caption order.
    return [(*row[:-1], dict.fromkeys(row[-1])) for row in rows]


def embeddings_of(post_ids: list[int]) -> dict[int, np.ndarray]:
    """The posts' text embeddings (those that have one)."""
    if not post_ids:
        return {}
    # pgvector's binary form (a 4-byte header, then big-endian float4s) as bytea, which
    # psycopg decodes in C: the same floats as the text of real[], at ~a third of the CPU
    # (384 floats parsed from text per vector).
    table = PostEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT post_id, vector_send(vector) FROM {table} "  # noqa: S608
                       "WHERE post_id = ANY(%s)", [post_ids])
        return {int(pid): np.frombuffer(raw, dtype=">f4", offset=4).astype(np.float32)
                for pid, raw in cursor.fetchall()}


def nearest_posts(vector: np.ndarray, k: int) -> list[tuple[int, float]]:
    """The k posts whose text embedding is closest to `vector` by cosine distance (the HNSW
    index), with the distance. The vector goes as text: building the ORM expression cost
    more than the search."""
    literal = "[" + ",".join(map(str, vector.astype(np.float32).tolist())) + "]"
    table = PostEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT post_id, vector <=> %s::vector AS d FROM {table} "  # noqa: S608
                       "ORDER BY d LIMIT %s", [literal, k])
        return [(int(pid), float(d)) for pid, d in cursor.fetchall()]


def attach_vectors(pools: Pools) -> None:
    """Load the pooled posts' text embeddings into one matrix (zero rows where missing)."""
    cat = pools.catalogue
    matrix = np.zeros((len(cat), EMBEDDING_DIM), dtype=np.float32)
    for pid, vec in embeddings_of(cat.ids.tolist()).items():
        matrix[cat.index[pid]] = vec
    cat.vectors = matrix
