"""A PostgreSQL of the test's own (the embedded server's code, swipeme_site.embedded, with
another data dir and port) holding a copy of the test database, so a test may restart it
under a live server. The shared server (54329) is never touched."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
import pytest

from swipeme_site import embedded
from tests.conftest import _free_port
from tests.faults.conftest import PrivateRedis, uvicorn_on


class PrivatePostgres:
    def __init__(self, directory: Path) -> None:
        self.port = _free_port()
        self.pgdata = directory / "pgdata"
        self.log = directory / "postgres.log"

    def url(self, database: str = embedded.PG_DATABASE) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        embedded.postgres_start(pgdata=self.pgdata, port=self.port, log=self.log)

    def stop(self, mode: str = "fast") -> None:
        embedded.postgres_stop(pgdata=self.pgdata, mode=mode)

    def restart(self) -> None:
        """What a restart of the server looks like to its clients: every connection is cut
        and for a moment connections are refused."""
        self.stop()
        self.start()

    def copy_database(self, source_url: str, name: str) -> None:
        """The source database (schema and rows) as `name` on this server."""
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        dump = subprocess.Popen([str(embedded._pg_bin("pg_dump")), "--no-owner",
                                 "--no-privileges", "-d", source_url],
                                stdout=subprocess.PIPE)
        subprocess.run([str(embedded._pg_bin("psql")), "-q", "-v", "ON_ERROR_STOP=1",
                        "-d", self.url(name)], stdin=dump.stdout, check=True,
                       stdout=subprocess.DEVNULL)
        assert dump.wait() == 0

    def query(self, name: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with psycopg.connect(self.url(name), autocommit=True, connect_timeout=5) as conn:
            return conn.execute(sql, params).fetchall()


@pytest.fixture
def private_postgres() -> Iterator[PrivatePostgres]:
    # Not tmp_path: pytest prunes old /tmp/pytest-of-* directories, and another pytest
    # session on the machine may prune this one from under the running server.
    directory = Path(tempfile.mkdtemp(prefix="swipeme-faults-pg-"))
    server = PrivatePostgres(directory)
    try:
        server.start()
        yield server
    finally:
        server.stop(mode="immediate")
        shutil.rmtree(directory, ignore_errors=True)


def shared_test_database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


@contextmanager
def asgi_server_on(*, database_url: str, redis: PrivateRedis, kind: str) -> Iterator[str]:
    """The real ASGI server on a private PostgreSQL and Redis, with production's persistent
    connections (CONN_MAX_AGE) and hot-path Redis timeouts."""
    with uvicorn_on(redis, kind=kind, DATABASE_URL=database_url, SWIPEME_USE_TEST_DB="0",
                    SWIPEME_TEST_CONN_MAX_AGE="60") as url:
        yield url
