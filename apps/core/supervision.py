"""What keeps `make run` (manage.py runstack) alive: each process it started — the embedded
PostgreSQL and Redis, the web server, the workers, beat — is watched, and one that dies is
started again after an exponential backoff (0.5 s, 1 s, 2 s ... at most 30 s; back to 0.5 s
once it has stayed up for a minute), each death and restart logged. A crash loop costs a
restart every 30 s, not a busy loop; a single crash costs half a second.

The embedded servers run as daemons (not our children), so they are watched by their port
and by a real ping (Redis PING, PostgreSQL connect + SELECT 1) with a short timeout: the
kernel keeps accepting connections on the port of a hung (SIGSTOPped, wedged) server. One
that leaves its pings unanswered for HUNG_AFTER seconds (several pings in a row, not one: a
busy machine can be slow) is SIGKILLed by the pid in its pid file and restarted like a dead
one. A server that answers with an error (starting up, loading its data) is alive.
The others are watched by their process.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from apps.core.hooks import Hook

logger = logging.getLogger("apps.core.supervision")


@dataclass(frozen=True)
class StackProcess:
    """A process a higher app asks `runstack` to run and supervise beside the others (the
    live ingest): its argv, or None with the reason in words when it cannot run here."""

    name: str
    argv: list[str] | None
    reason: str = ""


class StackProcessSource(Protocol):
    def __call__(self, *, python: str, web_url: str) -> StackProcess: ...


# registered in a higher app's AppConfig.ready() (live: the ingest)
stack_processes: Hook[StackProcessSource] = Hook("core.runstack_processes")

BACKOFF_FIRST = 0.5
BACKOFF_MAX = 30.0
STABLE_AFTER = 60.0  # up this long: the next death starts the backoff from the beginning
HUNG_AFTER = 10.0  # an embedded server whose pings go unanswered this long is killed
HUNG_PINGS = 3  # ... and at least this many pings in a row


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


def redis_answers(port: int, timeout: float = 1.0) -> bool:
    """Does the Redis on `port` answer a PING on a fresh connection within `timeout`?
    An error reply (still loading its data) is an answer."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # A client of its own (its own pool: a fresh connection), closed below; no retries
    # (redis-py retries a timeout 3 times by default: one PING would take 4 timeouts).
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=timeout,
                         socket_connect_timeout=timeout, retry=Retry(NoBackoff(), 0))
    try:
        client.ping()
    except (redis.BusyLoadingError, redis.ResponseError):
        return True
    except redis.RedisError:
        return False
    finally:
        client.close()
    return True


def postgres_answers(port: int, timeout: int = 2) -> bool:
    """Does the PostgreSQL on `port` take a connection and a `SELECT 1` within `timeout`
    seconds? A refusal in words (starting up, in recovery) is an answer."""
    import psycopg

    try:
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres",
                             connect_timeout=timeout, autocommit=True) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        message = str(exc).lower()
        return not ("timeout" in message or "refused" in message or "closed" in message)
    return True


@dataclass
class ServiceChild:
    """An embedded server (PostgreSQL, Redis): alive while its port accepts connections and
    it answers `probe` (when given); started by swipeme_site.embedded's starter (which
    clears a dead server's stale pid). Hung for `hung_after` seconds: SIGKILLed by the pid
    in `pid_file` and reported dead, so that the supervisor restarts it."""

    name: str
    port: int
    starter: Callable[[], object]
    stopper: Callable[[], object] = lambda: None
    probe: Callable[[], bool] | None = None
    pid_file: Path | None = None
    hung_after: float = HUNG_AFTER
    hung_pings: int = HUNG_PINGS
    clock: Callable[[], float] = time.monotonic
    _unanswered: int = 0
    _unanswered_since: float | None = None
    _exit: str = ""

    def alive(self) -> bool:
        from swipeme_site.embedded import _port_open

        if not _port_open(self.port):
            self._exit = f"port {self.port} closed"
            self._unanswered, self._unanswered_since = 0, None
            return False
        asked = self.clock()
        if self.probe is None or self.probe():
            self._unanswered, self._unanswered_since = 0, None
            return True
        if self._unanswered_since is None:
            self._unanswered_since = asked
        self._unanswered += 1
        waited = self.clock() - self._unanswered_since
        if self._unanswered < self.hung_pings or waited < self.hung_after:
            return True  # slow, maybe busy: not hung yet
        pid = self._pid()
        if pid is None:
            logger.error("%s hung for %.0f s but has no pid file (%s): cannot kill it",
                         self.name, waited, self.pid_file)
            return True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        logger.error("%s hung for %.0f s (%d pings unanswered): killed (pid %d) and "
                     "restarting", self.name, waited, self._unanswered, pid)
        self._exit = f"hung for {waited:.0f} s, killed"
        self._unanswered, self._unanswered_since = 0, None
        self._wait_for_port_closed()
        return False

    def _pid(self) -> int | None:
        try:
            # Redis's pid file holds the pid; postmaster.pid has it on its first line.
            return int(self.pid_file.read_text().split()[0]) if self.pid_file else None
        except (OSError, ValueError, IndexError):
            return None

    def _wait_for_port_closed(self, seconds: float = 5.0) -> None:
        """The starter does nothing while the port is open: let the killed server go."""
        from swipeme_site.embedded import _port_open

        deadline = time.monotonic() + seconds
        while _port_open(self.port) and time.monotonic() < deadline:
            time.sleep(0.05)

    def start(self) -> None:
        self.starter()

    def stop(self) -> None:
        self.stopper()

    def describe_exit(self) -> str:
        return self._exit or f"port {self.port} closed"


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
