"""What keeps `make run` (manage.py runstack) alive: each process it started — the embedded
PostgreSQL and Redis, the web server, the workers, beat — is watched, and one that dies is
started again after an exponential backoff (0.5 s, 1 s, 2 s ... at most 30 s; back to 0.5 s
once it has stayed up for a minute), each death and restart logged. A crash loop costs a
restart every 30 s, not a busy loop; a single crash costs half a second.

The embedded servers run as daemons (not our children), so they are watched by their port;
the others by their process.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

logger = logging.getLogger("apps.core.supervision")

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # up this long: the next death starts the backoff from the beginning


class Child(Protocol):
    name: str

    def alive(self) -> bool: ...

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def describe_exit(self) -> str: ...


@dataclass
class ProcessChild:
    """A child process (the web server, a worker, beat), in its own session so that a stop
    reaches its own children (a Celery pool, uvicorn's workers)."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: os.PathLike[str] | str
    proc: subprocess.Popen[bytes] | None = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self) -> None:
        log = open(self.log_path, "ab")  # noqa: SIM115 - the child holds it; closed below
        try:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log,  # noqa: S603
                                         stderr=subprocess.STDOUT, start_new_session=True)
        finally:
            log.close()

    def describe_exit(self) -> str:
        code = self.proc.returncode if self.proc is not None else None
        if code is not None and code < 0:
            return f"killed by {signal.Signals(-code).name}"
        return f"exit code {code}"

    def signal_stop(self) -> None:
        if self.alive():
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 20) -> None:
        self.signal_stop()
        if self.proc is None:
            return
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)


@dataclass
class ServiceChild:
    """An embedded server (PostgreSQL, Redis): alive while its port accepts connections;
    started by swipeme_site.embedded's starter (which clears a dead server's stale pid)."""

    name: str
    port: int
    starter: Callable[[], object]
    stopper: Callable[[], object] = lambda: None

    def alive(self) -> bool:
        from swipeme_site.embedded import _port_open

        return _port_open(self.port)

    def start(self) -> None:
        self.starter()

    def stop(self) -> None:
        self.stopper()

    def describe_exit(self) -> str:
        return f"port {self.port} closed"


@dataclass
class _State:
    failures: int = 0
    up_since: float = 0.0
    restart_at: float | None = None
    restarts: int = 0


@dataclass
class Supervisor:
    children: list[Child]
    backoff_first: float = BACKOFF_FIRST
    backoff_max: float = BACKOFF_MAX
    stable_after: float = STABLE_AFTER
    clock: Callable[[], float] = time.monotonic
    states: dict[str, _State] = field(default_factory=dict)

    def start_all(self) -> None:
        for child in self.children:
            if not child.alive():
                child.start()
            self.states[child.name] = _State(up_since=self.clock())

    def backoff(self, failures: int) -> float:
        return float(min(self.backoff_max, self.backoff_first * 2 ** max(0, failures - 1)))

    def tick(self) -> None:
        """One look at every child: a dead one gets a restart scheduled (and logged), a
        scheduled restart that is due happens."""
        now = self.clock()
        for child in self.children:
            state = self.states.setdefault(child.name, _State(up_since=now))
            if state.restart_at is not None:
                if now >= state.restart_at:
                    state.restart_at = None
                    try:
                        child.start()
                    except Exception as exc:  # noqa: BLE001 - failing to start is a death too
                        logger.error("%s could not be restarted: %s", child.name, exc)
                        self._died(child, state, now, "restart failed")
                        continue
                    state.up_since = self.clock()
                    state.restarts += 1
                    logger.warning("%s restarted (restart %d)", child.name, state.restarts)
                continue
            if child.alive():
                if state.failures and now - state.up_since >= self.stable_after:
                    state.failures = 0
                continue
            self._died(child, state, now, child.describe_exit())

    def _died(self, child: Child, state: _State, now: float, how: str) -> None:
        state.failures += 1
        wait = self.backoff(state.failures)
        state.restart_at = now + wait
        logger.error("%s died (%s); restarting in %.1f s (failure %d in a row)",
                     child.name, how, wait, state.failures)

    def run(self, should_stop: Callable[[], bool], interval: float = 0.25) -> None:
        while not should_stop():
            self.tick()
            time.sleep(interval)
