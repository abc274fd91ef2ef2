"""Candidate retrieval: the keyword engine (`SearchBackend`) and, for videos, the semantic
neighbours of the query among the posts' MiniLM caption vectors (the feed's pgvector
table), fused by reciprocal rank fusion.

Retrieval only proposes ids: nothing here decides what a viewer may see (the candidates go
through `apps.search.selectors` next) and nothing is ranked for the viewer yet (`ranking`);
so the engine's answers may be kept for everyone (the candidate cache below).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from django.core.cache import cache

from apps.search.engine import get_backend
from apps.search.engine.base import Hit, Kind

logger = logging.getLogger(__name__)

# Reciprocal rank fusion's constant (Cormack et al. 2009): 60 damps the top ranks so that
# an item both lists agree on beats one list's first place.
RRF_K = 60
# Cosine distance (1 - similarity) beyond which a caption is not "about" the query: MiniLM
# puts unrelated short texts at 0.8-1.0 and paraphrases ("funny cat" / "my kitten being
# silly") at 0.4-0.6. A nonsense query ("xyz", "asdkjh qwe") gets no semantic candidates.
SEMANTIC_MAX_DISTANCE = 0.65
# The HNSW index answers at most its ef_search (40 by default) neighbours per query.
SEMANTIC_CANDIDATES = 40


# The engine's candidates for a text are the same for every viewer: what a viewer may see
# (`apps.search.selectors`, the one rule per kind) and how it ranks for them (`ranking`)
# are decided after, on every request. Search traffic is head-heavy, so each process keeps
# the engine's answer (ids and scores, never a viewer's page) per normalised query, mode
# and (kind, limit) list, while the index is unchanged (the backend's `generation`: a
# post indexed a moment ago is found at once) and for at most CANDIDATE_CACHE_SECONDS.
# An engine that cannot say its generation (PostgreSQL's) is asked every time.
CANDIDATE_CACHE_SECONDS = 30.0
CANDIDATE_CACHE_ENTRIES = 1024  # Top's largest entry: ~175 hits, ~20 kB

_CacheKey = tuple[str, tuple[tuple[Kind, int], ...], str, bool]


class _CandidateCache:
    """A small LRU of the engine's answers with a time limit and the index's generation;
    thread-safe (a web process may serve requests on several threads)."""

    def __init__(self) -> None:
        self._entries: OrderedDict[_CacheKey, tuple[float, int, tuple[tuple[Hit, ...], ...]]] \
            = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: _CacheKey, generation: int) -> tuple[tuple[Hit, ...], ...] | None:
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= now or entry[1] != generation:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return entry[2]

    def put(self, key: _CacheKey, generation: int,
            answer: tuple[tuple[Hit, ...], ...]) -> None:
        with self._lock:
            self._entries[key] = (time.monotonic() + CANDIDATE_CACHE_SECONDS, generation,
                                  answer)
            self._entries.move_to_end(key)
            while len(self._entries) > CANDIDATE_CACHE_ENTRIES:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0


_candidates = _CandidateCache()


def candidate_cache_stats() -> dict[str, int]:
    """This process's candidate cache: hits, misses (since the last clear), entries."""
    return {"hits": _candidates.hits, "misses": _candidates.misses,
            "entries": len(_candidates._entries)}


def clear_candidate_cache() -> None:
    _candidates.clear()


def _engine_hits(requests: Sequence[tuple[Kind, int]], query: str, *, prefix: bool
                 ) -> list[list[Hit]]:
    """The engine's answer for each (kind, limit), from the candidate cache when the
    index has not changed since it was kept. Raises what the engine raises (not kept)."""
    backend = get_backend()
    generation = backend.generation()
    if generation is None:
        return backend.search_many(requests, query, prefix=prefix)
    key: _CacheKey = (backend.name, tuple(requests), query, prefix)
    kept = _candidates.get(key, generation)
    if kept is None:
        # `generation()` has just checked the index for other processes' commits (a read
        # of tantivy's meta.json): the search does not check again, and its answer is
        # that generation's (or a later one's, never an earlier one's).
        kept = tuple(tuple(hits) for hits in backend.search_many(
            requests, query, prefix=prefix, recheck=False))
        _candidates.put(key, generation, kept)
    return [list(hits) for hits in kept]


def keyword_hits(kind: Kind, query: str, *, limit: int, prefix: bool) -> list[Hit]:
    """The engine's best `limit` matches. An engine failure degrades to no keyword
    candidates (logged) rather than a 500: the contract says it never raises on text, so
    an exception here is a broken index, which a rebuild fixes."""
    try:
        return _engine_hits([(kind, limit)], query, prefix=prefix)[0]
    except Exception:
        logger.exception("search backend failed", extra={"kind": kind})
        return []


def keyword_hits_many(requests: Sequence[tuple[Kind, int]], query: str, *, prefix: bool
                      ) -> list[list[Hit]]:
    """`keyword_hits` for each (kind, limit), in that order, in one engine call (Top asks
    for four kinds: one query plan, one reader check, no thread hand-offs)."""
    if not requests:
        return []
    try:
        return _engine_hits(requests, query, prefix=prefix)
    except Exception:
        logger.exception("search backend failed", extra={"kinds": [k for k, _ in requests]})
        return [[] for _ in requests]


# Top's second engine call (a hashtag's and a sound's names, `query.top`) runs on this pool
# while the request's thread makes the first (videos and accounts): tantivy releases the
# GIL while it searches, so with a core free the two overlap and a Top miss waits for the
# longer call, not their sum (each is about half of Top's engine time at full size).
# Only for a backend that searches in process (`SearchBackend.in_process`): PostgreSQL's
# searches use the request's database connection and stay on its thread.
_engine_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-engine")


def start_keyword_hits_many(requests: Sequence[tuple[Kind, int]], query: str, *,
                            prefix: bool) -> Future[list[list[Hit]]]:
    """`keyword_hits_many`, started on the engine pool when the backend searches in
    process (its answer: `.result()`, which never raises); else answered at once."""
    if getattr(get_backend(), "in_process", False):
        return _engine_pool.submit(keyword_hits_many, requests, query, prefix=prefix)
    done: Future[list[list[Hit]]] = Future()
    done.set_result(keyword_hits_many(requests, query, prefix=prefix))
    return done


# The query's embedding (tens of ms of numpy, which releases the GIL) runs on this pool
# while the request thread does the rest of the search: the blocked-term check, history,
# keyword retrieval, the viewer's signals and Top's other kinds (`prefetch_query_vector`).
# Embedding (and its shared cache) only: the database stays on the request's own thread
# and connection.
_embedder = ThreadPoolExecutor(max_workers=2, thread_name_prefix="search-embed")
# How long a search waits for its embedding at most; past it the answer is keyword-only
# (a later search of the same text finds the vector cached).
EMBED_TIMEOUT_SECONDS = 2.0


# Query vectors are shared through the default cache (Redis, behind its circuit breaker;
# a miss while it is unavailable): a query is embedded once for every web process and
# restart while it is searched, not once per process. Keyed by model and normalised query.
VECTOR_CACHE_SECONDS = 24 * 3600
VECTOR_DIMENSIONS = 384
_VECTOR_KEY = "search:qvec:minilm-l6-v2:"


def _vector_key(text: str) -> str:
    return _VECTOR_KEY + hashlib.sha256(text.encode()).hexdigest()


def _embed(text: str) -> np.ndarray:
    """The query's embedding, with the same model and text shape as the posts' (the model
    itself is loaded once per process by `apps.feed.embeddings`), from the shared cache
    when another process (or an earlier one) embedded the same query."""
    from apps.feed.embeddings import encode

    key = _vector_key(text)
    cached = cache.get(key)
    if isinstance(cached, bytes) and len(cached) == VECTOR_DIMENSIONS * 4:
        return np.frombuffer(cached, dtype=np.float32)  # read-only, as below
    vector: np.ndarray = encode([text])[0].astype(np.float32)
    vector.setflags(write=False)
    cache.set(key, vector.tobytes(), VECTOR_CACHE_SECONDS)
    return vector


@lru_cache(maxsize=512)
def _query_vector(text: str) -> Future[np.ndarray]:
    """The query's embedding, started on the pool; a user paging or a popular query is
    embedded once per process."""
    return _embedder.submit(_embed, text)


def prefetch_query_vector(query: str) -> None:
    """Start embedding `query` now, so that `semantic_post_ids` finds it done (or nearly)."""
    if text := query.strip():
        _query_vector(text)


def semantic_post_ids(query: str, *, limit: int = SEMANTIC_CANDIDATES) -> list[int]:
    """Posts whose caption embedding is near the query's, nearest first (HNSW, cosine),
    within `SEMANTIC_MAX_DISTANCE`."""
    from apps.feed.pools.queries import nearest_posts

    text = query.strip()
    if not text:
        return []
    future = _query_vector(text)
    try:
        found = nearest_posts(future.result(timeout=EMBED_TIMEOUT_SECONDS), limit)
    except Exception:  # no model, no vector table, too slow: keyword results still answer
        logger.exception("semantic search failed")
        if future.done() and future.exception() is not None:  # not kept: try again later
            _query_vector.cache_clear()
        return []
    return [post_id for post_id, distance in found if distance <= SEMANTIC_MAX_DISTANCE]


def fuse(*rankings: Sequence[int]) -> dict[int, float]:
    """Reciprocal rank fusion: each id scores the sum of 1 / (RRF_K + rank) over the lists
    it is in (rank from 1). Insertion order is best first."""
    scores: dict[int, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (RRF_K + rank)
    return dict(sorted(scores.items(), key=lambda pair: -pair[1]))


def relevance_of(hits: Sequence[Hit]) -> dict[int, float]:
    """Keyword relevance in 0..1: the engine's score over the answer's best (scores are
    comparable only within one answer)."""
    if not hits:
        return {}
    top = max(hit.score for hit in hits) or 1.0
    return {hit.id: max(hit.score, 0.0) / top for hit in hits}


def query_vector_ready(query: str) -> bool:
    """Whether the query's embedding (started by `prefetch_query_vector`) is done."""
    text = query.strip()
    return bool(text) and _query_vector(text).done()


def video_relevance(query: str, *, limit: int, prefix: bool, semantic: bool | None = None,
                    hits: Sequence[Hit] | None = None, wait_below: int | None = None
                    ) -> tuple[dict[int, float], bool]:
    """Videos: keyword and semantic candidates fused by RRF, scaled to 0..1 by the best;
    and whether the semantic ones were fused. As-you-type (prefix) never embeds: it is the
    cheap path, and half a word has no meaning to embed. `semantic` True fuses (waiting
    for the embedding), False does not; None decides: fuse when the embedding is ready
    (cached), or when the keyword candidates do not fill `limit` (a sparse keyword answer
    is where meaning matters most: then wait for it). A full window of keyword candidates
    does not wait for a new query's embedding (tens of ms of CPU), which goes on in the
    background and is cached for the next search of the same words. `hits`: the keyword
    candidates when the caller already asked the engine (Top). `wait_below`: wait for a new
    query's embedding only when fewer keyword candidates than this came (default `limit`;
    Top waits only when they do not fill its page)."""
    if hits is None:
        hits = keyword_hits("video", query, limit=limit, prefix=prefix)
    keyword = [hit.id for hit in hits]
    if prefix:
        semantic = False
    elif semantic is None:
        semantic = query_vector_ready(query) or len(keyword) < (
            limit if wait_below is None else wait_below)
    fused = fuse(keyword, semantic_post_ids(query) if semantic else [])
    if not fused:
        return {}, semantic
    top = next(iter(fused.values()))
    return {post_id: score / top for post_id, score in fused.items()}, semantic
