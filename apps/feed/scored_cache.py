"""Reuse of For You's stages 1 and 2 across the pages of one scroll.

A viewer asks for a page every few seconds. Candidate generation and the ranker depend only
on the pools, the model and what the database says about the viewer (follows, interests,
recent likes, completions and saves, language): when none of that changed, the next page
re-ranks the same scored candidates instead of scoring them again. Re-ranking (seen-sets,
not-interested, the creator window, exploration) and the safety gate still run on every
page. A new like or completion, a follow, new pools or another model change the
fingerprint and the page is scored afresh; entries expire after `SWIPEME_FEED_SCORED_TTL`
seconds so that new posts from followed creators and time-dependent features (age,
freshness) are not held longer. Per process, bounded, least recently used first out."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.conf import settings

from apps.feed.candidates import ViewerContext

MAX_ENTRIES = 512
T = TypeVar("T")


def fingerprint(ctx: ViewerContext, *, stamp: str, model_version: int | None) -> int:
    """What stages 1 and 2 read about the viewer, with the pools and the model."""
    return hash((stamp, model_version, ctx.user_id, ctx.language, ctx.country, ctx.adult,
                 frozenset(ctx.follows), frozenset(ctx.interest_tags), tuple(ctx.positives)))


@dataclass
class _Entry(Generic[T]):
    fingerprint: int
    at: float
    value: T


class ScoredCache(Generic[T]):
    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()
        self._lock = threading.Lock()
        self._max = max_entries

    @staticmethod
    def ttl() -> float:
        return float(getattr(settings, "SWIPEME_FEED_SCORED_TTL", 0))

    def get(self, key: str | None, fp: int) -> T | None:
        ttl = self.ttl()
        if key is None or ttl <= 0:
            return None
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            if entry.fingerprint != fp or time.monotonic() - entry.at > ttl:
                del self._entries[key]
                return None
            self._entries.move_to_end(key)
            return entry.value

    def put(self, key: str | None, fp: int, value: T) -> None:
        if key is None or self.ttl() <= 0:
            return
        with self._lock:
            self._entries[key] = _Entry(fp, time.monotonic(), value)
            self._entries.move_to_end(key)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
