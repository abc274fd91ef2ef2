"""A chat connection's outgoing queue: the room hands a frame over without waiting for the
socket, and one writer task per connection does the waiting.

Why: the ASGI server's `websocket.send` (uvicorn + websockets) awaits the socket's drain
once its write buffer passes 64 KiB, so a viewer who stops reading (a phone on a dead
network, a stalled tab) made the room's `await member.send(...)` wait, and every other
viewer of the process waited behind them. Now `Room.dispatch` only calls `put` (never
awaits), and a slow connection costs only itself.

Bounded (`SWIPEME_LIVE_CHAT_OUTBOX_FRAMES`, counted in writes: a `batch` the room built
for a window is one, however many frames it carries; the room's windows are the same text
object for every connection, so what waits costs a reference each) and, when full:
- a *droppable* frame (the tick: viewers, likes, joins; the next one says it again) pushes
  out the oldest droppable frame waiting, or is dropped itself if none is;
- any other frame (chat messages, deletions, pins, one's own answers) first pushes out a
  waiting droppable frame; when only such frames wait, the new one is dropped and counted,
  and the connection is told in a `missed` frame {"count", "message"} (the chat frames the
  dropped writes carried) as soon as there is
  room again (the client re-reads the chat by reconnecting, whose `ready` has the recent
  messages);
- a queue that stays full for `SWIPEME_LIVE_CHAT_OUTBOX_STALL_SECONDS` with no frame
  written meanwhile ends the connection with `CLOSE_TOO_SLOW` (4008), which the web client,
  like any code but 4000 and 44xx, answers by reconnecting.
A close the consumer asks for (ended, banned, refused) is queued after the frames before
it and never dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from django.conf import settings

logger = logging.getLogger(__name__)

CLOSE_TOO_SLOW = 4008  # not 4000 (the end) nor 44xx (refusals): the client reconnects


@dataclass(frozen=True, slots=True)
class _Close:
    code: int


def missed_frame(count: int) -> str:
    noun = "message" if count == 1 else "messages"
    return json.dumps({
        "type": "missed", "count": count,
        "message": f"Your connection is slow: {count} chat {noun} didn't reach you."})


class Outbox:
    """One connection's bounded queue and its writer (see the module's docstring)."""

    def __init__(self, send: Callable[[str], Awaitable[None]],
                 close: Callable[[int], Awaitable[None]], *, limit: int | None = None,
                 stall_seconds: float | None = None) -> None:
        self._send = send
        self._close = close
        self.limit = max(2, limit if limit is not None
                         else settings.SWIPEME_LIVE_CHAT_OUTBOX_FRAMES)
        self.stall_seconds = (stall_seconds if stall_seconds is not None
                              else settings.SWIPEME_LIVE_CHAT_OUTBOX_STALL_SECONDS)
        # (text, droppable, chat frames it carries), or a close
        self._queue: deque[tuple[str, bool, int] | _Close] = deque()
        self._waiting = 0  # writes in the queue (a close is not counted)
        self._ready = asyncio.Event()
        self.missed = 0  # frames dropped since the connection was last told
        self.dropped = 0  # all frames dropped (droppable ones included)
        self._full_since: float | None = None
        self._closing = False
        self._writer: asyncio.Task[None] | None = asyncio.create_task(self._write_loop())

    def __len__(self) -> int:
        return self._waiting

    # --- the room's side (never awaits) -------------------------------------------------

    def put(self, text: str, *, droppable: bool = False, count: int = 1) -> None:
        """Queue `text`, a write carrying `count` frames (a window's batch: several)."""
        if self._closing:
            return
        if self._waiting >= self.limit:
            if not self._evict_droppable():
                self.dropped += count
                if not droppable:
                    self.missed += count
                self._stalled_check()
                return
        elif self.missed and not droppable:
            # room again: first the count of what was lost (one frame past the limit)
            self._append((missed_frame(self.missed), False, 1))
            self.missed = 0
        self._append((text, droppable, count))

    def close(self, code: int) -> None:
        """Close once the frames before it are written."""
        if self._closing:
            return
        self._queue.append(_Close(code))
        self._ready.set()

    def check(self) -> None:
        """Called by the room every tick: a queue stalled past the limit ends the
        connection even when no new frame arrives."""
        self._stalled_check()

    async def stop(self) -> None:
        """The connection went: the writer stops, what waits is dropped."""
        self._closing = True
        self._queue.clear()
        self._waiting = 0
        writer, self._writer = self._writer, None
        if writer is not None and writer is not asyncio.current_task():
            writer.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await writer

    # --- inside ---------------------------------------------------------------------------

    def _append(self, item: tuple[str, bool, int]) -> None:
        self._queue.append(item)
        self._waiting += 1
        if self._waiting >= self.limit and self._full_since is None:
            self._full_since = time.monotonic()
        self._ready.set()

    def _evict_droppable(self) -> bool:
        for index, item in enumerate(self._queue):
            if isinstance(item, tuple) and item[1]:
                del self._queue[index]
                self._waiting -= 1
                self.dropped += item[2]
                return True
        return False

    def _stalled_check(self) -> None:
        if (self._full_since is None or self._closing
                or time.monotonic() - self._full_since < self.stall_seconds):
            return
        logger.info("live chat: a connection read nothing for %.0f s with %d frames waiting; "
                    "closed", self.stall_seconds, self._waiting)
        self._abort()

    def _abort(self) -> None:
        """End the connection now, whatever waits: the writer (stuck in the socket's send)
        is cancelled and the close goes out on a task of its own (the server gives a close
        that cannot be written its own timeout, then drops the connection)."""
        self._closing = True
        self._queue.clear()
        self._waiting = 0
        if self._writer is not None:
            self._writer.cancel()
            self._writer = None
        task = asyncio.create_task(self._close_quietly(CLOSE_TOO_SLOW))
        _closing_tasks.add(task)
        task.add_done_callback(_closing_tasks.discard)

    async def _close_quietly(self, code: int) -> None:
        with contextlib.suppress(Exception):
            await self._close(code)

    async def _write_loop(self) -> None:
        while True:
            if not self._queue:
                if self.missed and not self._closing:
                    count, self.missed = self.missed, 0
                    await self._send_quietly(missed_frame(count))
                    continue
                self._ready.clear()
                await self._ready.wait()
                continue
            item = self._queue.popleft()
            if isinstance(item, _Close):
                self._closing = True
                self._queue.clear()
                self._waiting = 0
                await self._close_quietly(item.code)
                return
            self._waiting -= 1
            await self._send_quietly(item[0])
            # a frame went out: the reader is alive, whatever still waits
            self._full_since = time.monotonic() if self._waiting >= self.limit else None

    async def _send_quietly(self, text: str) -> None:
        with contextlib.suppress(Exception):  # a connection closing meanwhile
            await self._send(text)


_closing_tasks: set[asyncio.Task[None]] = set()
