"""`make run`'s supervision (apps.core.supervision, what runstack runs) with real processes:
an embedded Redis of the test's own (swipeme_site.embedded's starter on another port and
var dir) and a child process, each SIGKILLed: restarted within seconds, each death and
restart logged. A SIGSTOPped Redis (its port still accepts) is killed and restarted once
its pings went unanswered for HUNG_AFTER seconds, not after one slow ping."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import redis

from apps.core.supervision import (
    HUNG_AFTER,
    ProcessChild,
    ServiceChild,
    Supervisor,
    redis_answers,
)
from swipeme_site import embedded
from tests.conftest import _free_port

RESTART_BUDGET_SECONDS = 5.0


@pytest.fixture
def var_dir() -> Iterator[Path]:
    directory = Path(tempfile.mkdtemp(prefix="swipeme-faults-sup-"))
    yield directory
    shutil.rmtree(directory, ignore_errors=True)


def _eventually(predicate: object, seconds: float) -> float:
    """Seconds until predicate() held (fails the test past `seconds`)."""
    started = time.monotonic()
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() - started < seconds, "not within the budget"
        time.sleep(0.05)
    return time.monotonic() - started


def test_a_killed_redis_and_a_killed_worker_are_restarted_and_logged(
    var_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    port = _free_port()
    service = ServiceChild("redis", port, lambda: embedded.redis_start(port=port,
                                                                       var_dir=var_dir))
    worker = ProcessChild("worker-test", [sys.executable, "-c", "import time; time.sleep(600)"],
                          dict(os.environ), var_dir / "worker.log")
    supervisor = Supervisor([service, worker])
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="apps.core.supervision")
    supervisor.start_all()
    watcher = threading.Thread(target=supervisor.run, args=(stop.is_set, 0.1))
    watcher.start()
    try:
        client = redis.Redis(port=port, socket_timeout=2)
        assert client.ping()
        client.set("kept", "1")  # the embedded Redis keeps an append-only file

        # when: Redis is SIGKILLed
        os.kill(int((var_dir / "run" / "redis.pid").read_text()), signal.SIGKILL)
        # then: it answers again within seconds, with its data
        _eventually(lambda: not service.alive(), 5)
        took = _eventually(lambda: _pings(port), RESTART_BUDGET_SECONDS)
        assert took < RESTART_BUDGET_SECONDS
        assert redis.Redis(port=port, socket_timeout=2).get("kept") == b"1"

        # when: a worker is SIGKILLed
        assert worker.proc is not None
        first_pid = worker.proc.pid
        os.kill(first_pid, signal.SIGKILL)
        _eventually(lambda: worker.alive() and worker.proc.pid != first_pid,  # type: ignore[union-attr]
                    RESTART_BUDGET_SECONDS)
    finally:
        stop.set()
        watcher.join(timeout=10)
        worker.stop(timeout=5)
        if service.alive():
            with contextlib.suppress(redis.ConnectionError):
                redis.Redis(port=port).shutdown(nosave=True)

    messages = [r.getMessage() for r in caplog.records if r.name == "apps.core.supervision"]
    assert any(m.startswith("redis died (port") and "restarting in 0.5 s" in m
               for m in messages), messages
    assert any(m.startswith("redis restarted") for m in messages), messages
    assert any(m.startswith("worker-test died (killed by SIGKILL)") for m in messages), messages
    assert any(m.startswith("worker-test restarted") for m in messages), messages


def _pings(port: int) -> bool:
    try:
        return bool(redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5)
                    .ping())
    except redis.RedisError:
        return False


def test_a_crash_loop_backs_off_exponentially_up_to_a_ceiling(var_dir: Path) -> None:
    """A child that dies at once, again and again: the waits between restarts double (it
    does not spin), and are capped."""
    now = [0.0]
    child = ProcessChild("crasher", [sys.executable, "-c", "raise SystemExit(3)"],
                         dict(os.environ), var_dir / "crasher.log")
    supervisor = Supervisor([child], backoff_max=4.0, clock=lambda: now[0])
    supervisor.start_all()
    waits = []
    for _ in range(6):
        assert child.proc is not None
        child.proc.wait(timeout=10)
        supervisor.tick()  # sees the death, schedules the restart
        state = supervisor.states["crasher"]
        assert state.restart_at is not None
        waits.append(state.restart_at - now[0])
        now[0] = state.restart_at
        supervisor.tick()  # the restart is due
    assert waits == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    child.stop(timeout=5)


def test_a_killed_postgres_is_restarted_at_the_first_attempt(
    var_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """SIGKILL on the embedded PostgreSQL's postmaster: the supervisor starts it again at
    once (crash recovery), its first attempt not refused by the dead server's leftovers
    (postmaster.pid, the socket's lock naming a postmaster that may still be a zombie)."""
    port = _free_port()
    pgdata = var_dir / "pgdata"

    def start() -> object:
        return embedded.postgres_start(pgdata=pgdata, port=port, log=var_dir / "pg.log")

    service = ServiceChild("postgres", port, start)
    supervisor = Supervisor([service])
    stop = threading.Event()
    caplog.set_level(logging.INFO, logger="apps.core.supervision")
    supervisor.start_all()
    watcher = threading.Thread(target=supervisor.run, args=(stop.is_set, 0.1))
    watcher.start()
    try:
        os.kill(int((pgdata / "postmaster.pid").read_text().split()[0]), signal.SIGKILL)
        _eventually(lambda: not service.alive(), 5)
        _eventually(lambda: supervisor.states["postgres"].restarts == 1, 60)
        with psycopg.connect(f"postgres://postgres@127.0.0.1:{port}/postgres",
                             connect_timeout=5) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
    finally:
        stop.set()
        watcher.join(timeout=10)
        embedded.postgres_stop(pgdata=pgdata, mode="immediate")
    messages = [r.getMessage() for r in caplog.records if r.name == "apps.core.supervision"]
    assert not [m for m in messages if "could not be restarted" in m], messages
    assert any(m.startswith("postgres restarted (restart 1)") for m in messages), messages


# Unanswered pings for HUNG_AFTER (10 s), a kill, a 0.5 s backoff, a start: well within 15 s.
HUNG_RESTART_BUDGET_SECONDS = 15.0


@contextlib.contextmanager
def _supervised_private_redis(var_dir: Path) -> Iterator[tuple[int, ServiceChild, Supervisor]]:
    port = _free_port()
    service = ServiceChild("redis", port, lambda: embedded.redis_start(port=port,
                                                                       var_dir=var_dir),
                           probe=lambda: redis_answers(port),
                           pid_file=var_dir / "run" / "redis.pid")
    supervisor = Supervisor([service])
    stop = threading.Event()
    supervisor.start_all()
    watcher = threading.Thread(target=supervisor.run, args=(stop.is_set, 0.1))
    watcher.start()
    try:
        yield port, service, supervisor
    finally:
        stop.set()
        watcher.join(timeout=10)
        with contextlib.suppress(OSError, ValueError):
            os.kill(_redis_pid(var_dir), signal.SIGKILL)  # also ends a stopped one


def _redis_pid(var_dir: Path) -> int:
    # redis-server writes its pid file a moment after it answers on its port (a clean-clone
    # run read it too early once)
    path = var_dir / "run" / "redis.pid"
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return int(path.read_text())


def test_a_hung_redis_is_killed_and_restarted(var_dir: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="apps.core.supervision")
    with _supervised_private_redis(var_dir) as (port, _service, supervisor):
        hung_pid = _redis_pid(var_dir)
        # when: Redis is SIGSTOPped (the kernel still accepts connections on its port)
        os.kill(hung_pid, signal.SIGSTOP)
        stopped_at = time.monotonic()
        # then: a new Redis answers PING within the budget
        _eventually(lambda: supervisor.states["redis"].restarts == 1 and _pings(port),
                    HUNG_RESTART_BUDGET_SECONDS)
        assert time.monotonic() - stopped_at >= HUNG_AFTER  # not killed on one slow ping
        assert _redis_pid(var_dir) != hung_pid  # a new server, not the hung one resumed
    messages = [r.getMessage() for r in caplog.records if r.name == "apps.core.supervision"]
    assert any(m.startswith("redis hung for 1") and "killed (pid" in m for m in messages), \
        messages
    assert any(m.startswith("redis died (hung for") for m in messages), messages
    assert any(m.startswith("redis restarted (restart 1)") for m in messages), messages


def test_a_redis_stopped_for_a_moment_is_not_killed(var_dir: Path) -> None:
    """A few seconds without an answer (a busy machine, a long fork) is not a hang."""
    with _supervised_private_redis(var_dir) as (port, _service, supervisor):
        pid = _redis_pid(var_dir)
        os.kill(pid, signal.SIGSTOP)
        time.sleep(HUNG_AFTER / 3)
        os.kill(pid, signal.SIGCONT)
        _eventually(lambda: _pings(port), 5)
        time.sleep(1.5)  # a tick or more after the answers came back
        assert supervisor.states["redis"].restarts == 0
        assert _redis_pid(var_dir) == pid
