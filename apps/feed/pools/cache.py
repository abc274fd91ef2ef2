"""The per-process cache: the reco task publishes the pools under a stamp (`refresh`);
each serving process keeps the decoded pools and reloads (in a thread) when the stamp
changes; without Redis it builds its own and keeps them for a minute."""

from __future__ import annotations

import logging
import threading
import time

from django.db import connection

from apps.feed import online
from apps.feed.pools.catalogue import Pools
from apps.feed.pools.codec import dumps, loads
from apps.feed.pools.drawing import build
from apps.feed.pools.queries import attach_vectors

logger = logging.getLogger(__name__)
LOCAL_TTL = 60.0
STAMP_CHECK_EVERY = 5.0
_lock = threading.Lock()
_current: Pools | None = None
_checked_at = 0.0


def refresh() -> Pools:
    """Rebuild and publish (the reco task)."""
    pools = build()
    online.store_pools(dumps(pools), pools.stamp)
    return pools


def current() -> tuple[Pools, bool]:
    """The pools this process serves from, and whether they came from the shared cache
    (False: built locally because Redis or the published pools were unavailable)."""
    global _current, _checked_at
    now = time.monotonic()
    cached = _current
    if cached is not None and now - _checked_at < STAMP_CHECK_EVERY:
        return cached, cached.stamp != "local"
    with _lock:
        cached = _current
        if cached is not None and time.monotonic() - _checked_at < STAMP_CHECK_EVERY:
            return cached, cached.stamp != "local"
        stamp = online.pools_stamp()
        if stamp is not None and cached is not None and cached.stamp == stamp:
            _checked_at = time.monotonic()
            return cached, True
        if stamp is not None and cached is not None and cached.stamp != "local":
            # Newer pools were published: keep serving these while a thread loads them,
            # so no request pays for the reload.
            _reload_in_background()
            _checked_at = time.monotonic()
            return cached, True
        loaded = online.load_pools() if stamp is not None else None
        if loaded is not None:
            pools = loads(*loaded)
            attach_vectors(pools)
            shared = True
        elif cached is not None and cached.stamp == "local" \
                and time.monotonic() - cached.loaded_at < LOCAL_TTL:
            _checked_at = time.monotonic()
            return cached, False
        else:
            pools = build()
            attach_vectors(pools)
            if online.store_pools(dumps(pools), pools.stamp):
                shared = True
            else:
                pools.stamp = "local"
                shared = False
        pools.loaded_at = time.monotonic()
        _current = pools
        _checked_at = time.monotonic()
        return pools, shared


_reloading = threading.Event()


def _reload_in_background() -> None:
    if _reloading.is_set():
        return
    _reloading.set()

    def work() -> None:
        global _current, _checked_at
        try:
            loaded = online.load_pools()
            if loaded is None:
                return
            fresh = loads(*loaded)
            attach_vectors(fresh)
            fresh.loaded_at = time.monotonic()
            with _lock:
                _current = fresh
                _checked_at = time.monotonic()
        except Exception:  # the old pools keep serving; the next check tries again
            logger.exception("feed: reloading the pools failed")
        finally:
            connection.close()
            _reloading.clear()

    threading.Thread(target=work, name="feed-pools-reload", daemon=True).start()


def forget() -> None:
    """Drop this process's pools (tests; after a catalogue change that must show at once)."""
    global _current, _checked_at
    with _lock:
        _current = None
        _checked_at = 0.0
