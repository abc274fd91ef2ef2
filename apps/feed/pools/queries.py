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
from apps.content.captions import entity_hashtags
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


def _meta_select() -> str:
    """META_FIELDS and the caption's entities as SQL (p: the post)."""
    columns = [f'p.{name} AS "{name}"' for name in META_FIELDS
               if "__" not in name and name != "published_at"]
    columns += ['EXTRACT(EPOCH FROM p.published_at)::float8 AS "published_at"',
                'a.duration_ms AS "asset__duration_ms"',
                'EXTRACT(EPOCH FROM u.date_joined)::float8 AS "author__date_joined"',
                'u.country AS "author__country"',
                "p.caption_entities::json AS caption_entities"]
    return (f"SELECT {', '.join(columns)} FROM {Post._meta.db_table} p "  # noqa: S608
            f"JOIN {MediaAsset._meta.db_table} a ON a.id = p.asset_id "
            f"JOIN {User._meta.db_table} u ON u.id = p.author_id")


_META_SQL: str | None = None


def published_meta_rows(where: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """`meta_rows` of published posts matching `where` (SQL over `p`, the post), with the
    hashtags taken from the caption's entities (no join), in one raw statement: For You
    reads candidates outside the pools on every page, where the ORM's query building cost
    more than PostgreSQL's work. The safety rules still run once, on the shortlist
    (serving's `allowed`)."""
    global _META_SQL
    if _META_SQL is None:
        _META_SQL = _meta_select()
    sql = f"{_META_SQL} WHERE p.status = %(published)s AND {where}"
    with connection.cursor() as cursor:
        cursor.execute(sql, {**params, "published": Post.Status.PUBLISHED})
        names = [col.name for col in cursor.description or []]
        rows = [dict(zip(names, values, strict=True)) for values in cursor.fetchall()]
    for row in rows:
        row["tags"] = entity_hashtags(row.pop("caption_entities"))
    return rows


def embeddings_of(post_ids: list[int]) -> dict[int, np.ndarray]:
    """The posts' text embeddings (those that have one)."""
    if not post_ids:
        return {}
    # real[] is decoded by psycopg in C (the vector's text form would be parsed in Python).
    table = PostEmbedding._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT post_id, vector::real[] FROM {table} "  # noqa: S608
                       "WHERE post_id = ANY(%s)", [post_ids])
        return {int(pid): np.asarray(vec, dtype=np.float32) for pid, vec in cursor.fetchall()}


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
