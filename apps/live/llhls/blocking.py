"""Blocking playlist reload and the preload hint's part, for the async serving view.

A request `index.m3u8?_HLS_msn=M&_HLS_part=P` is held until the playlist contains that part
(RFC 8216bis 6.2.5.2); a request for the part the preload hint names is held until the file
is there. Each event loop polls each watched playlist once per POLL_SECONDS however many
requests wait on it (one `stat`), and wakes them all when it changes: the packager writes a
part before the playlist that names it, so one watch serves both kinds of waits."""

from __future__ import annotations

import asyncio
import contextlib
import os
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path

from apps.live.llhls import playlist as pl

POLL_SECONDS = 0.02
HOLD_TARGETS = 3  # hold at most this many target durations, then answer what there is
PART_WAIT_SECONDS = 3.0  # the hinted part comes within a part target; this covers a stall


class BlockingReloadError(ValueError):
    """A blocking reload the server answers 400 at once, in words."""


def blocking_params(query: Mapping[str, str]) -> tuple[int | None, int | None]:
    """(_HLS_msn, _HLS_part) of a playlist request; BlockingReloadError when malformed."""
    msn_text, part_text = query.get("_HLS_msn"), query.get("_HLS_part")
    if msn_text is None:
        if part_text is not None:
            raise BlockingReloadError("_HLS_part needs _HLS_msn.")
        return None, None
    try:
        msn = int(msn_text)
        part = None if part_text is None else int(part_text)
    except ValueError:
        raise BlockingReloadError("_HLS_msn and _HLS_part are whole numbers.") from None
    if msn < 0 or (part is not None and part < 0):
        raise BlockingReloadError("_HLS_msn and _HLS_part cannot be negative.")
    return msn, part


class _Watch:
    """One playlist's change notifications in one event loop."""

    def __init__(self, path: Path, registry: dict[Path, _Watch]) -> None:
        self.path = path
        self.registry = registry
        self.waiters = 0
        self.changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def signature(self) -> tuple[int, int] | None:
        try:
            stat = os.stat(self.path)
        except OSError:
            return None
        return stat.st_mtime_ns, stat.st_size

    async def poll(self) -> None:
        last = self.signature()
        while self.waiters:
            await asyncio.sleep(POLL_SECONDS)
            now = self.signature()
            if now != last:
                last = now
                self.changed.set()
                self.changed = asyncio.Event()
        self.task = None
        if self.registry.get(self.path) is self:
            del self.registry[self.path]


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Path, _Watch]] = (
    weakref.WeakKeyDictionary())


async def _until(path: Path, ready: Callable[[], bool], deadline: float) -> bool:
    """Wait until `ready()` is true, re-checking whenever `path` changes; False at the
    deadline (loop time)."""
    loop = asyncio.get_running_loop()
    watches = _watches.setdefault(loop, {})
    watch = watches.get(path)
    if watch is None:
        watch = watches[path] = _Watch(path, watches)
    watch.waiters += 1
    if watch.task is None:
        watch.task = loop.create_task(watch.poll())
    try:
        while True:
            event = watch.changed  # taken before the check: a change after it still wakes us
            if ready():
                return True
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), remaining)
    finally:
        watch.waiters -= 1  # the last one out: the poll ends at its next turn


def _read(path: Path) -> str | None:
    try:
        return path.read_text()
    except OSError:
        return None


async def playlist_when_ready(path: Path, msn: int | None, part: int | None) -> str | None:
    """The playlist's text once it holds segment `msn` (part `part`), or at the deadline
    (HOLD_TARGETS target durations) as it is then; None when there is no playlist.
    BlockingReloadError (answer 400) when the request is too far ahead."""
    text = _read(path)
    if text is None or msn is None:
        return text
    at = pl.position(text)
    if pl.too_far_ahead(at, msn, part):
        raise BlockingReloadError(
            "That part of the live stream is too far ahead of what is published.")
    if pl.satisfies(at, msn, part):
        return text
    found: list[str] = []

    def ready() -> bool:
        current = _read(path)
        if current is not None and pl.satisfies(pl.position(current), msn, part):
            found.append(current)
            return True
        return False

    deadline = asyncio.get_running_loop().time() + HOLD_TARGETS * at.target_duration
    if await _until(path, ready, deadline):
        return found[-1]
    return _read(path)


def is_hinted_part(name: str) -> bool:
    """A part file name the packager writes (what a preload hint names)."""
    return pl.PART_RE.match(name) is not None


async def part_when_ready(path: Path, playlist: Path) -> bool:
    """Wait for a part file named by the playlist's preload hint (False: it did not come).
    Only a part at most a few ahead of the playlist is waited for: any other name is
    answered at once."""
    if path.exists():
        return True
    match = pl.PART_RE.match(path.name)
    text = _read(playlist)
    if match is None or text is None:
        return False
    at = pl.position(text)
    if at.ended:
        return False
    msn, index = int(match.group(1)), int(match.group(2))
    if pl.too_far_ahead(at, msn, index) or msn <= at.last_msn - 1:
        return False
    deadline = asyncio.get_running_loop().time() + PART_WAIT_SECONDS
    return await _until(playlist, path.exists, deadline)
