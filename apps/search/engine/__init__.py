"""The search index engine: `get_backend()` answers the configured `SearchBackend`
(settings SWIPEME_SEARCH_BACKEND, "tantivy" or "postgres"), one instance per process."""

from __future__ import annotations

import threading

from django.conf import settings

from .base import KINDS, Hit, Kind, SearchBackend, SearchDoc

__all__ = [
    "BACKENDS",
    "KINDS",
    "Hit",
    "Kind",
    "SearchBackend",
    "SearchDoc",
    "get_backend",
    "reset_backends",
]

BACKENDS = ("tantivy", "postgres")
_cache: dict[str, SearchBackend] = {}
_cache_lock = threading.Lock()


def _make(name: str) -> SearchBackend:
    if name == "tantivy":
        from .tantivy_backend import TantivyBackend

        return TantivyBackend(settings.SWIPEME_SEARCH_INDEX_DIR / "tantivy")
    if name == "postgres":
        from .postgres_backend import PostgresBackend

        return PostgresBackend()
    raise ValueError(f"unknown search backend {name!r} (expected one of {', '.join(BACKENDS)})")


def get_backend(name: str | None = None) -> SearchBackend:
    """The backend `name` (default: the configured one), created once per process."""
    name = name or settings.SWIPEME_SEARCH_BACKEND
    backend = _cache.get(name)
    if backend is None:
        with _cache_lock:
            backend = _cache.get(name)
            if backend is None:
                backend = _cache[name] = _make(name)
    return backend


def reset_backends() -> None:
    """Forget the cached instances (tests that point the settings at another index)."""
    with _cache_lock:
        _cache.clear()
