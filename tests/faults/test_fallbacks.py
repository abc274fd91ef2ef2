"""Each fallback, in process, against a Redis of the test's own that is dead or hung: the
cache's per-process stand-in, the throttles (reads fail open, writes keep a per-process
budget), allauth's log-in limit, the breaker's cycle (open, probe, closed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.db import transaction
from django.test import Client
from rest_framework.throttling import SimpleRateThrottle

from apps.core import redis_health
from apps.core.cache_backend import ResilientRedisCache
from apps.core.ratelimits import OutageStricterRates
from apps.core.tasks import heartbeat
from apps.core.throttles import AnonReadThrottle, BurstWriteThrottle
from swipeme_site.settings.base import cache_config
from tests.accounts.conftest import APP, PASSWORD, MobileClient
from tests.factories import UserFactory
from tests.faults.conftest import PrivateRedis


@pytest.fixture(autouse=True)
def _breakers_closed_around_each_test() -> Iterator[None]:
    """Breakers are per process: one test's outage must not leak into the next test."""
    redis_health.reset_all()
    yield
    redis_health.reset_all()


@pytest.fixture
def cache_on(settings: Any, private_redis: PrivateRedis) -> PrivateRedis:
    """The default cache (throttles, allauth, ...) on the private Redis."""
    settings.CACHES = {"default": cache_config(private_redis.url, "faults")}
    return private_redis


pytestmark = pytest.mark.django_db


def test_a_dead_redis_opens_the_breaker_which_probes_and_closes_when_it_returns(
    settings: Any, private_redis: PrivateRedis
) -> None:
    settings.SWIPEME_REDIS_BREAKER_FAILURES = 2
    settings.SWIPEME_REDIS_BREAKER_OPEN_SECONDS = 0.2

    class Client(redis_health.GuardedRedis):
        breaker_name = "faults-cycle"

    client = Client.from_url(private_redis.url, **redis_health.hot_path_options())
    breaker = redis_health.breaker("faults-cycle")
    assert client.ping()
    assert breaker.state == redis_health.CLOSED

    private_redis.kill()
    for _ in range(2):  # refused by the kernel: real failures, counted
        with pytest.raises(redis_health.OUTAGE_ERRORS) as raised:
            client.ping()
        assert not isinstance(raised.value, redis_health.RedisUnavailable)
    # open: the next call does not reach the network at all
    assert breaker.state == redis_health.OPEN
    with pytest.raises(redis_health.RedisUnavailable):
        client.ping()

    private_redis.start()
    assert _eventually(lambda: breaker.state == redis_health.HALF_OPEN), breaker.state
    assert client.ping()  # the probe
    assert breaker.state == redis_health.CLOSED


def _eventually(predicate: Any, seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_cache_serves_from_its_stand_in_while_redis_hangs_and_forgets_it_after(
    cache_on: PrivateRedis,
) -> None:
    backend = caches["default"]
    assert isinstance(backend, ResilientRedisCache)
    backend.set("k", "from redis")
    assert backend.get_from_redis("k") == ("from redis", True)

    cache_on.hang()
    try:
        # no exception, no long wait: a miss, then this process's own copy
        assert backend.get_from_redis("k", "miss") == ("miss", False)
        backend.set("k", "while down")
        assert backend.get("k") == "while down"
        assert backend.add("lease", 1) is True
        assert backend.add("lease", 1) is False
        assert redis_health.breaker().state == redis_health.OPEN
        assert backend.ping() is False
    finally:
        cache_on.resume()

    redis_health.reset_all()  # as the probe would after open_seconds
    assert backend.get_from_redis("k") == ("from redis", True)
    assert backend.get("lease") is None  # the stand-in was emptied on the way back


def test_reads_are_not_throttled_while_redis_is_dead_but_writes_keep_their_budget(
    cache_on: PrivateRedis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, AnonReadThrottle.scope, "2/min")
    monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, BurstWriteThrottle.scope, "2/min")
    author = UserFactory(username="maya")

    cache_on.kill()
    anonymous = Client()
    statuses = [anonymous.get(f"/api/v1/users/{author.username}").status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 200]  # fail open: an outage must not cost reads

    phone = MobileClient(device_id="faults-phone")
    assert phone.post(f"{APP}/auth/login", {"username": "maya", "password": PASSWORD},
                      ).status_code == 200
    writes = [phone.patch("/api/v1/me", {"bio": f"take {n}"}).status_code for n in range(3)]
    assert writes == [200, 200, 429]  # per-process budget, not a free-for-all
    assert redis_health.breaker().state == redis_health.OPEN


@pytest.mark.urls("tests.core.views_for_tests")
def test_a_write_whose_throttles_meet_a_hung_redis_opens_the_breaker_at_once(
    cache_on: PrivateRedis,
) -> None:
    # given: Redis hangs; the breaker is closed (no request has met the outage yet)
    cache_on.hang()
    try:
        client = Client()
        # when: a read's throttles meet it (a blank search: three budgets, one call): one
        # failure, the breaker stays closed and the read is answered unthrottled
        assert client.get("/api/v1/search", {"q": ""}).status_code == 200
        assert redis_health.breaker().state == redis_health.CLOSED
        # when: a write's (one round trip for its budgets, which fails)
        response = client.post("/api/v1/echo", {"name": "a", "age": 1},
                               content_type="application/json")
        # then: it is judged in the stand-in, and the breaker is open now, so the rest of
        # the write takes its fallbacks at once (as the per-budget calls made it before)
        assert response.status_code == 201, response.content
        assert redis_health.breaker().state == redis_health.OPEN
    finally:
        cache_on.resume()


def test_log_in_attempts_are_limited_more_strictly_while_redis_is_dead(
    cache_on: PrivateRedis, settings: Any
) -> None:
    # the production setting: 5 failed log-ins per account per 5 minutes
    settings.ACCOUNT_RATE_LIMITS = OutageStricterRates({"login_failed": "10/m/ip,5/5m/key"})
    UserFactory(username="maya")
    cache_on.kill()
    for _ in range(3):  # other requests have found Redis dead meanwhile
        caches["default"].get("anything")
    assert redis_health.breaker().state == redis_health.OPEN

    phone = MobileClient(device_id="faults-attacker")
    answers = [phone.post(f"{APP}/auth/login", {"username": "maya", "password": f"guess-{n}"})
               for n in range(5)]
    assert [a.status_code for a in answers] == [400] * 5, [a.content for a in answers]
    codes = [[e.get("code") for e in a.json()["errors"]] for a in answers]
    # the fourth guess on is refused before the password is checked (3 per account while
    # the limits are counted per process): no brute-force window, no 500
    assert ["too_many_login_attempts" in c for c in codes] == [False, False, False, True, True]


@pytest.mark.django_db(transaction=True)
def test_a_task_sent_while_the_broker_is_known_down_is_refused_inside_a_transaction_only(
    caplog: pytest.LogCaptureFixture,
) -> None:
    breaker = redis_health.breaker()
    for _ in range(breaker.failure_threshold):  # as the requests before found it
        breaker.failure(ConnectionError("refused"))

    # inside a transaction: nothing is committed yet, so refuse (the API answers 503)
    with pytest.raises(redis_health.RedisUnavailable), transaction.atomic():
        heartbeat.delay("default")
    # after the commit: the write stands, the request must not fail; the loss is logged
    assert heartbeat.delay("default") is None
    assert "task core.heartbeat not sent" in caplog.text
