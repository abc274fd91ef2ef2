"""Shared fixtures. Tests run against the real embedded PostgreSQL and Redis."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from django.core.cache import cache
from django.db import DatabaseError, OperationalError
from rest_framework.test import APIClient

from tests.factories import UserFactory

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Playwright

ROOT = Path(__file__).resolve().parent.parent


SERIAL_TESTS = ROOT / "tests" / "faults"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The `serial` tests are tests/faults' (its conftest marks them): `make pytest` leaves
    them out of its parallel phase and collects only that directory for its serial phase
    (collecting the whole suite takes ~40 s of CPU), so a test marked `serial` elsewhere
    would run in neither."""
    strays = [item.nodeid for item in items if item.get_closest_marker("serial")
              and SERIAL_TESTS not in Path(str(item.fspath)).parents]
    if strays:
        raise pytest.UsageError(f"`serial` tests belong under {SERIAL_TESTS}: {strays}")


_BROWSER_FIXTURES = frozenset({"browser", "playwright_driver"})


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """The session's Playwright driver (sync API) leaves its event loop marked as running in
    this thread between its calls. A test that does not use the browser must not see it, from
    its first fixture (pytest-django's database set-up) to its last: Django's async-safety
    check would take its ORM calls for ones made from async code, and `asyncio.run` would
    refuse to start (CI: 35 websocket and query tests failed after a browser test outside
    tests/browser; on two workers every later database test errored in set-up). The mark is
    put back afterwards: the driver's own coroutines ask for the running loop when it next
    runs them. Browser tests that use the ORM turn the check off (tests/browser/conftest.py)."""
    import asyncio

    loop = asyncio._get_running_loop()
    if loop is None or _BROWSER_FIXTURES & set(getattr(item, "fixturenames", ())):
        yield
        return
    asyncio._set_running_loop(None)
    try:
        yield
    finally:
        if not loop.is_closed():  # the last test's teardown may have stopped the driver
            asyncio._set_running_loop(loop)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """A fixture's error as it happens, in var/log/<test db>-errors.log: pytest-xdist prints
    errors only at the session's end, and one that breaks every later test of a worker is
    what a long run needs found early."""
    if report.failed and report.when in ("setup", "teardown"):
        with _log_path("errors").open("a") as log:
            log.write(f"=== {report.nodeid} ({report.when})\n{report.longreprtext}\n")


@pytest.fixture(scope="session")
def django_db_modify_db_settings_xdist_suffix() -> None:
    """Under pytest-xdist the test settings already name each worker's database (and Redis
    db, media root) after PYTEST_XDIST_WORKER, which the worker's Celery worker and live
    server inherit too (swipeme_site/settings/test.py): pytest-django's own _gwN suffix
    would name it a second time."""


@pytest.fixture(autouse=True)
def _clean_redis() -> Iterator[None]:
    """Each test starts with an empty test Redis db (throttles, caches, heartbeats) and, as
    a fresh process would, with closed Redis circuit breakers: a test that points a client
    at a dead Redis opens the process's breaker, which would otherwise send the next tests'
    Redis calls (this very clear() included) to the per-process stand-ins for seconds."""
    from apps.core import redis_health

    redis_health.reset_all()
    cache.clear()
    yield
    redis_health.reset_all()


_ROW_LOCK_SQL = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b",
                           re.IGNORECASE)


@pytest.fixture(autouse=True)
def _row_locks_need_their_own_transaction() -> Iterator[None]:
    """A row lock taken outside `transaction.atomic()` fails in production (Django refuses
    SELECT ... FOR UPDATE in autocommit), but a `django_db` test runs inside the test case's
    own transaction, which hides it. Refuse such a query here when the only open atomic
    blocks are the test case's, so every test sees what production would."""
    from django.db import DEFAULT_DB_ALIAS, connections
    from django.db.transaction import TransactionManagementError

    connection = connections[DEFAULT_DB_ALIAS]

    def guard(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if (connection.in_atomic_block and _ROW_LOCK_SQL.search(sql)
                and all(getattr(block, "_from_testcase", False)
                        for block in connection.atomic_blocks)):
            raise TransactionManagementError(
                "select_for_update outside transaction.atomic(): only the test's own "
                "transaction is open, so this fails in production")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(guard):
        yield


@pytest.fixture(autouse=True)
def _arranged_assets_pass_moderation(request: pytest.FixtureRequest) -> Iterator[None]:
    """Moderation's publish gate holds a post until its upload has been scanned. An asset
    a test creates directly in a processing/ready state (a factory, bypassing the upload
    pipeline that would scan it) counts as checked and clean, so content tests publish as
    before. Uploads made through the pipeline are scanned for real. Tests of the gate
    itself ask for `moderation_gate_live` and get no such shortcut."""
    if "moderation_gate_live" in request.fixturenames:
        yield
        return
    from django.db.models.signals import post_save

    from apps.media.models import MediaAsset

    def clear(sender: type, instance: MediaAsset, created: bool, **kwargs: object) -> None:
        if created and instance.state not in (MediaAsset.State.UPLOADING,
                                              MediaAsset.State.UPLOADED):
            from apps.moderation.detection.services import asset_checks_clear

            asset_checks_clear(asset_id=instance.pk, reason="arranged by a test")

    post_save.connect(clear, sender=MediaAsset, dispatch_uid="arranged-assets-pass")
    try:
        yield
    finally:
        post_save.disconnect(sender=MediaAsset, dispatch_uid="arranged-assets-pass")


@pytest.fixture(scope="session", autouse=True)
def _test_database_left_alone_at_the_end(django_db_setup: None,
                                         django_db_blocker: Any) -> Iterator[None]:
    """Set up right after the test database, so torn down right before it is dropped, after
    the session's worker and web server stopped: their PostgreSQL sessions can outlive the
    processes for a moment, and the drop would fail ("being accessed by other users").
    Only a session still running a query is waited for: idle ones, which are never closed
    by whoever holds them (the whole 10 s was waited at the end of every run), are ended."""
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        deadline = time.monotonic() + 10
        with connection.cursor() as cursor:
            while True:
                cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = "
                               "current_database() AND pid <> pg_backend_pid() "
                               "AND state NOT IN ('idle', 'disabled')")
                (others,) = cursor.fetchone()
                if not others or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE "
                           "datname = current_database() AND pid <> pg_backend_pid()")


@pytest.fixture(scope="session", autouse=True)
def _flags_configuration_checked_once_per_test() -> Iterator[None]:
    """Every web page evaluates the viewer's flags, and the flags' configuration is
    re-checked with one query every 2 s (apps.experiments.config.CHECK_EVERY). On a busy
    machine that query lands inside a page's query count now and then ("the same queries for
    2 or 20 posts" failed by one). In the test process the check waits an hour instead; every
    change through the services calls `config.forget()`, and the experiments tests also forget
    before and after each test. Other processes (live servers, workers) keep the 2 s."""
    from apps.experiments import config

    config.CHECK_EVERY, kept = 3600.0, config.CHECK_EVERY
    yield
    config.CHECK_EVERY = kept


@pytest.fixture(autouse=True)
def _flags_configuration_forgotten_after_each_test(
        _flags_configuration_checked_once_per_test: None) -> Iterator[None]:
    """With the hour-long check above, a test's experiments (rolled back or flushed at its
    end) must not outlive it in this process's snapshot: the next test loads afresh."""
    yield
    from apps.experiments import config

    config.forget()


@pytest.fixture(scope="session", autouse=True)
def _flush_keeps_content_types_and_permissions() -> Iterator[None]:
    """The flush that ends each transactional test (and each browser module) re-sends
    post_migrate, which re-creates every content type and permission it just truncated
    (0.5-1.3 s a flush; 233 such tests). Those two tables hold only what post_migrate makes
    and no test writes them, so the flush leaves them as a fresh migrate made them and
    post_migrate finds them in place. Every other table is truncated as before."""
    from django.contrib.auth.models import Permission
    from django.contrib.contenttypes.models import ContentType
    from django.core.management.commands import flush as flush_command

    flush: Any = flush_command  # the stubs leave out the names the command imports
    kept = {ContentType._meta.db_table, Permission._meta.db_table}
    original = flush.sql_flush

    def sql_flush(style: Any, connection: Any, reset_sequences: bool = True,
                  allow_cascade: bool = False) -> list[str]:
        tables = [table for table in connection.introspection.django_table_names(
            only_existing=True, include_views=False) if table not in kept]
        if not reset_sequences:
            # Truncating 300 tables re-creates 300 tables' files (0.85 s a flush); a test
            # writes a few dozen. Only the non-empty ones, found in one query, are
            # truncated, with CASCADE: PostgreSQL refuses to truncate a referenced table
            # without its (empty) referrers.
            tables, allow_cascade = _non_empty(connection, tables), True
            if not tables:
                return []
        return list(connection.ops.sql_flush(style, tables, reset_sequences=reset_sequences,
                                             allow_cascade=allow_cascade))

    # ... and post_migrate's receivers that only re-check those two tables (create_permissions
    # and create_contenttypes: 180 queries, 0.3-0.6 s a flush) are left out of the flush's
    # post_migrate; the rest (the sites row, Wagtail's) run as before.
    from django.db.models.signals import post_migrate

    original_emit = flush.emit_post_migrate_signal

    def emit_post_migrate_signal(*args: Any, **kwargs: Any) -> None:
        receivers = post_migrate.receivers
        post_migrate.receivers = [r for r in receivers if _receiver_name(r) not in _RECHECKS]
        post_migrate.sender_receivers_cache.clear()
        try:
            original_emit(*args, **kwargs)
        finally:
            post_migrate.receivers = receivers
            post_migrate.sender_receivers_cache.clear()

    # A flush that meets another connection's locks (a worker finishing a task, a server
    # thread's last request) can deadlock; PostgreSQL then cancels one side. The flush says
    # who held what and tries again rather than failing the test it ends (CI, stop 32).
    from django.db.backends.postgresql.operations import DatabaseOperations

    original_execute = DatabaseOperations.execute_sql_flush

    def execute_sql_flush(self: Any, sql_list: list[str]) -> None:
        # six tries over ~7.5 s: a test that leaves a worker fanning out (the demo seed's
        # new-post notifications, a task a transaction each) met a new one three times
        # (clean clone at 7f37469)
        for attempt in range(6):
            try:
                original_execute(self, sql_list)
            except OperationalError as error:
                if attempt == 5:
                    raise
                sys.stderr.write(f"\nflush attempt {attempt + 1} failed ({error}); other"
                                 f" sessions: {_other_sessions(self.connection)}\n")
                time.sleep(0.5 * (attempt + 1))
            else:
                return

    flush.sql_flush = sql_flush
    flush.emit_post_migrate_signal = emit_post_migrate_signal
    DatabaseOperations.execute_sql_flush = execute_sql_flush  # type: ignore[method-assign,assignment]
    yield
    flush.sql_flush = original
    flush.emit_post_migrate_signal = original_emit
    DatabaseOperations.execute_sql_flush = original_execute  # type: ignore[method-assign]


def _other_sessions(connection: Any) -> list[tuple[Any, ...]]:
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid, application_name, state, wait_event_type, left(query, 120)"
                " FROM pg_stat_activity WHERE datname = current_database()"
                " AND pid <> pg_backend_pid()")
            return list(cursor.fetchall())
    except DatabaseError as error:  # diagnostics only
        return [("unavailable", str(error))]


_RECHECKS = frozenset({
    "django.contrib.auth.management.create_permissions",
    "django.contrib.contenttypes.management.create_contenttypes",
    "wagtail.snippets.models.create_extra_permissions",
})


def _receiver_name(entry: Any) -> str:
    # (lookup key, the receiver or a weak reference to it, ...)
    receiver = entry[1]() if isinstance(entry[1], weakref.ReferenceType) else entry[1]
    return f"{getattr(receiver, '__module__', '')}.{getattr(receiver, '__qualname__', '')}"


def _non_empty(connection: Any, tables: list[str]) -> list[str]:
    quote = connection.ops.quote_name
    query = " UNION ALL ".join(
        f"SELECT %s WHERE EXISTS (SELECT 1 FROM {quote(table)})" for table in tables)
    with connection.cursor() as cursor:
        cursor.execute(query, tables)
        return [row[0] for row in cursor.fetchall()]


@pytest.fixture
def moderation_gate_live() -> None:
    """Marks a test that exercises moderation's real publish gate (see above)."""


# The session's Celery worker (celery_worker_process), once an earlier test started it, serves
# the test broker for the rest of the run. It consumes only during the tests that use it or
# the live server: otherwise it would run the tasks of every later transactional test (a
# comment's notification, a moderation scan) while that test's flush truncates the tables,
# deadlocking the flush and leaving rows for the next tests (CI, stop 29).
_session_worker = {"running": False, "consuming": True}
# when the session worker's consumers were last cancelled (time.monotonic())
_paused_at = {"at": 0.0}
# kombu's Redis transport waits on the queues with a BRPOP of this many seconds; one sent
# just before a cancel still takes the next message pushed (its reply is delivered)
_BRPOP_TIMEOUT_S = 1.0
_USES_WORKER = frozenset({"celery_worker_process", "live_asgi_server"})


def _session_worker_consumes(consume: bool) -> None:
    """Pause or resume the session worker's consumers (a no-op when none runs)."""
    if not _session_worker["running"] or _session_worker["consuming"] == consume:
        return
    from django.conf import settings

    from swipeme_site.celery import app

    control = app.control.add_consumer if consume else app.control.cancel_consumer
    for queue in settings.SWIPEME_QUEUES:
        replies = control(queue, reply=True, timeout=5.0, limit=1) or []
        if not replies:
            raise RuntimeError(f"the session worker did not answer for queue {queue}")
    _session_worker["consuming"] = consume
    if not consume:
        _paused_at["at"] = time.monotonic()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """A test that uses the worker has it consuming before ANY of its fixtures: a module's
    fixture is set up before the function-scoped `_worker_idle_after_test`, and one that
    uploads clips (tests/browser's `seed_posts`) waited 240 s on a worker the previous
    file's last test had paused (two workers, where files meet in another order)."""
    names = set(getattr(item, "fixturenames", ()))
    if names & _USES_WORKER and "broker_unconsumed" not in names:
        _session_worker_consumes(True)
    yield


@pytest.fixture(autouse=True)
def _worker_idle_after_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """A test that used the shared worker or the live server leaves them idle: work it
    started in the background (higher renditions after a playable asset, a request whose
    client went away) must not steal the next test's worker slots, run against the next
    test's rows, or hold locks that deadlock the flush that ends a transactional test.
    Other tests run with the worker paused (see `_session_worker`)."""
    uses = bool(set(request.fixturenames) & _USES_WORKER)
    _session_worker_consumes(uses and "broker_unconsumed" not in request.fixturenames)
    yield
    # A live-server test can enqueue work too (a finished upload starts processing), which
    # the session's worker, if one was started earlier, picks up.
    if uses:
        _wait_for_idle_worker()
        _wait_for_other_db_sessions_to_finish()


def _wait_for_other_db_sessions_to_finish(timeout: float = 60) -> None:
    from django.db import connection

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
            )
            (busy,) = cursor.fetchone()
        if not busy:
            return
        time.sleep(0.2)


def _wait_for_idle_worker(timeout: float = 180) -> None:
    from swipeme_site.celery import app

    if not _session_worker["running"]:
        return  # nothing consumes the test broker: no task can be running
    deadline = time.monotonic() + timeout
    # Without a limit a broadcast listens for replies until 1 s of silence, so every call
    # cost a full second (2 s after each live-server test). The session worker is the only
    # worker on the test broker (a test's own workers have stopped by now): one reply is
    # the whole answer.
    while time.monotonic() < deadline:
        inspect = app.control.inspect(timeout=1.0, limit=1)
        busy = [
            task
            for report in (inspect.active() or {}, inspect.reserved() or {})
            for tasks in report.values()
            for task in tasks
        ]
        if not busy:
            return
        time.sleep(0.5)


def waiting_task_args(task_name: str) -> list[list[object]]:
    """The positional args of every `task_name` message waiting on the broker's queues."""
    import base64
    import json

    import redis
    from django.conf import settings

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    found = []
    for queue in settings.SWIPEME_QUEUES:
        for raw in broker.lrange(queue, 0, -1):
            message = json.loads(raw)
            if message["headers"]["task"] == task_name:
                found.append(json.loads(base64.b64decode(message["body"]))[0])
    return found


def open_redis_breaker() -> None:
    """What failed Redis calls in a row do (the broker is the project's Redis)."""
    from django.conf import settings

    from apps.core import redis_health

    gate = redis_health.breaker()
    for _ in range(settings.SWIPEME_REDIS_BREAKER_FAILURES):
        gate.failure(ConnectionError("the broker went away"))


@pytest.fixture
def broker_unconsumed() -> None:
    """Tests that read what reached the broker's queues: a session worker started by an
    earlier test (celery_worker_process) would take the messages first, so it is paused for
    the test (`_worker_idle_after_test` sees this fixture) and resumed when a later test
    uses it (a no-op when no worker runs). A BRPOP the worker sent before the pause still
    takes a message pushed within its timeout (CI: a dispatched task was missing from the
    queue), so the test starts once that timeout has passed since the pause."""
    _session_worker_consumes(False)
    wait = _paused_at["at"] + _BRPOP_TIMEOUT_S + 0.2 - time.monotonic()
    if wait > 0:
        time.sleep(wait)


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def user(db):  # type: ignore[no-untyped-def]
    return UserFactory()


@pytest.fixture
def auth_client(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


def _free_port() -> int:
    return _free_ports(1)[0]


def _free_ports(count: int) -> list[int]:
    """`count` distinct free TCP ports. The sockets stay bound until all are chosen: two
    calls one after the other may get the same port back (CI once gave the live ingest's
    RTMP and control servers one port, and nginx could not bind)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _log_path(kind: str) -> Path:
    from django.conf import settings

    name = settings.DATABASES["default"]["TEST"]["NAME"]
    path = ROOT / "var" / "log" / f"{name}-{kind}.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def _subprocess_env() -> dict[str, str]:
    # servers and workers keep Django's async-safety check (browser tests turn it off here)
    return {
        **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
        "DJANGO_SETTINGS_MODULE": "swipeme_site.settings.test",
        "SWIPEME_USE_TEST_DB": "1",
        "PYTHONPATH": str(ROOT),
    }


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker) -> Iterator[subprocess.Popen[bytes]]:  # type: ignore[no-untyped-def]
    """A real Celery worker (separate process) serving every queue of the test broker."""
    from django.conf import settings

    log = open(_log_path("worker"), "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "swipeme_site", "worker",
         "-Q", ",".join(settings.SWIPEME_QUEUES), "--concurrency", "2", "--pool", "prefork",
         "--loglevel", "INFO", "--without-gossip", "--without-mingle", "-n", "test@%h"],
        env=_subprocess_env(), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )
    # ready for remote control before any test may need to pause it
    from swipeme_site.celery import app

    deadline = time.monotonic() + 90
    while not app.control.ping(timeout=1.0):
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the Celery worker did not start; see {_log_path('worker')}")
    _session_worker.update(running=True, consuming=True)
    yield proc
    _session_worker["running"] = False
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="session")
def live_asgi_server(django_db_setup) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """The real ASGI server (uvicorn: HTTP and websockets) on a free loopback port."""
    with uvicorn_process("web") as url:
        yield url


@contextlib.contextmanager
def uvicorn_process(log_name: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Our ASGI app in a uvicorn process of its own (the test environment, plus `env`) on a
    free loopback port, listening when this yields its URL; stopped on exit."""
    port = _free_port()
    log = open(_log_path(log_name), "wb")  # noqa: SIM115
    # At the session's end a websocket a test left open held the graceful shutdown for the
    # whole 20 s wait below (then a kill): 2 s is enough for what is in flight.
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "swipeme_site.asgi:application", "--host",
         "127.0.0.1", "--port", str(port), "--lifespan", "off", "--ws", "websockets",
         "--timeout-graceful-shutdown", "2"],
        env={**_subprocess_env(), **(env or {})}, cwd=ROOT, stdout=log,
        stderr=subprocess.STDOUT,
    )
    # a busy machine takes more than 30 s to import the project: past the deadline the
    # tests used to start against a server not listening yet (connection refused)
    deadline = time.monotonic() + 120
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
        except OSError:
            if proc.poll() is not None:
                raise RuntimeError(f"uvicorn exited; see {_log_path(log_name)}") from None
            if time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"uvicorn did not listen within 120 s; see "
                                   f"{_log_path(log_name)}") from None
            time.sleep(0.1)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a busy machine: open websockets slow its shutdown
            proc.kill()
            proc.wait(timeout=20)
        log.close()


# --- Browser tests (tests/browser, tests/moderation/browser) --------------------------------
# Session-scoped here so that every browser test directory shares one Playwright driver (two
# sync drivers in one thread refuse to start) and one test-database set-up.

CHROMIUM = os.environ.get("SWIPEME_CHROMIUM", "/usr/bin/chromium")
# Flags for a closed network and a root user (see the tool notes): no sandbox as root, no
# background connections to hosts that cannot be reached, no first-run UI.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--mute-audio",
]


def _on_test_database() -> bool:
    from django.db import connection

    return bool(connection.settings_dict["NAME"] == connection.settings_dict["TEST"]["NAME"])


@pytest.fixture(scope="session")
def browser_test_database(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """pytest-django creates the test database only for tests marked `django_db`; browser
    tests are not (see the module doc), so when they run alone this creates it."""
    if _on_test_database():
        yield
        return
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default": {}})
    yield
    from django.db import connection

    with django_db_blocker.unblock():
        # A subprocess that has just been stopped may still hold a session for a moment.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                           "WHERE datname = current_database() AND pid <> pg_backend_pid()")
        teardown_databases(config, verbosity=0)


@pytest.fixture(scope="session")
def playwright_driver() -> Iterator[Playwright]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright_driver: Playwright) -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make setup` installs Debian's chromium")
    chromium = playwright_driver.chromium.launch(
        executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield chromium
    chromium.close()
