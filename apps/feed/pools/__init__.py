"""Cached candidate pools: a compact catalogue of recommendable posts (metadata as numpy
arrays, text embeddings as a matrix) and the global pools drawn from it: trending, fresh
and new creators (exploration), per language, per hashtag, per sound.

A reco task rebuilds the pools (`refresh`) and publishes them in Redis under a stamp; each
serving process keeps the decoded pools in memory and reloads when the stamp changes, so a
request does no catalogue work. Without Redis a process builds its own pools from the
database (the heuristic path) and keeps them for a minute.

One module per concern: `catalogue` (the columns and `top_k`), `queries` (reading posts,
their metadata and embeddings), `drawing` (the pools over a catalogue), `codec` (JSON for
Redis), `cache` (this process's copy). The names callers use are re-exported here."""

from apps.feed.pools.cache import current, forget, refresh
from apps.feed.pools.catalogue import Catalogue, Pools, top_k
from apps.feed.pools.codec import dumps, loads
from apps.feed.pools.drawing import build, draw
from apps.feed.pools.queries import (
    attach_vectors,
    embeddings_of,
    meta_rows,
    nearest_posts,
    published_meta_tuples,
    recommendable_posts,
)

__all__ = [
    "Catalogue",
    "Pools",
    "attach_vectors",
    "build",
    "current",
    "draw",
    "dumps",
    "embeddings_of",
    "forget",
    "loads",
    "meta_rows",
    "nearest_posts",
    "published_meta_tuples",
    "recommendable_posts",
    "refresh",
    "top_k",
]
