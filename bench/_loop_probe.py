"""An event loop's stalls and the garbage collector's passes, for a bench's `--trace`: the
bench client (bench/live_chat.py) and its server (bench/live_chat_asgi.py) record the same
two things, so a late delivery can be put down to one side's pause."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import time

TICK_S = 0.005  # the loop is asked to wake this often
STALL_S = 0.02  # a wake-up later than this is a stall


class LoopProbe:
    def __init__(self) -> None:
        self.stalls: list[tuple[float, float]] = []  # when, how late (s)
        self.gcs: list[tuple[float, float, int, int]] = []  # start, end, generation, collected
        self._gc_start = 0.0
        self._task: asyncio.Task[None] | None = None

    @property
    def running(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        """On the running loop; a second call does nothing."""
        if self._task is not None:
            return
        gc.callbacks.append(self._gc)
        self._task = asyncio.get_running_loop().create_task(self._lag())

    def stop(self) -> None:
        with contextlib.suppress(ValueError):
            gc.callbacks.remove(self._gc)
        if self._task is not None:
            self._task.cancel()

    def _gc(self, phase: str, info: dict[str, int]) -> None:
        now = time.monotonic()
        if phase == "start":
            self._gc_start = now
        else:
            self.gcs.append((self._gc_start, now, info["generation"], info["collected"]))

    async def _lag(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(TICK_S)
            late = time.monotonic() - before - TICK_S
            if late > STALL_S:
                self.stalls.append((before, late))
