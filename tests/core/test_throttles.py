"""Throttles count only requests that are let through (issue 11, item 7), and securing an
account (ending sessions, deactivating, logging out) is never throttled."""

from __future__ import annotations

import importlib
import pkgutil
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import redis
from allauth.usersessions.models import UserSession
from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory
from rest_framework.throttling import BaseThrottle, SimpleRateThrottle
from rest_framework.views import APIView

import apps
from apps.core.throttles import (
    BurstWriteThrottle,
    CountedRateThrottle,
    FollowThrottle,
    SustainedWriteThrottle,
    recorded_requests,
)
from tests.accounts.conftest import APP, MobileClient
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


class Clock:
    """The throttles' timer, moved by hand (a minute's wait without sleeping)."""

    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(SimpleRateThrottle, "timer", clock)
    return clock


def _rates(monkeypatch: pytest.MonkeyPatch, **rates: str) -> None:
    """Lower budgets (REST_FRAMEWORK's DEFAULT_THROTTLE_RATES) for one test."""
    scopes = {"burst": BurstWriteThrottle.scope, "sustained": SustainedWriteThrottle.scope,
              "follow": FollowThrottle.scope}
    for name, rate in rates.items():
        monkeypatch.setitem(SimpleRateThrottle.THROTTLE_RATES, scopes[name], rate)


def _patch_me(client: MobileClient, n: int) -> int:
    status: int = client.patch("/api/v1/me", {"bio": f"take {n}"}).status_code
    return status


@pytest.fixture
def phone(user: Any) -> MobileClient:
    client = MobileClient(device_id="phone-1")
    assert client.login(user.username).status_code == 200
    return client


def test_requests_refused_by_the_burst_limit_do_not_spend_the_daily_budget(
        monkeypatch: pytest.MonkeyPatch, clock: Clock, phone: MobileClient, user: Any) -> None:
    # given: 2 writes a minute, 5 a day; a retry loop sends 20 writes in one minute
    _rates(monkeypatch, burst="2/min", sustained="5/day")
    statuses = [_patch_me(phone, n) for n in range(20)]
    assert statuses.count(200) == 2
    assert statuses.count(429) == 18
    assert recorded_requests(f"throttle_write_sustained_{user.pk}") == 2

    # when: the minute has passed
    clock.now += 61

    # then: the three writes left of the day's five are still there, and no more
    assert [_patch_me(phone, n) for n in range(2)] == [200, 200]
    clock.now += 61
    assert [_patch_me(phone, n) for n in range(2)] == [200, 429]
    refused = phone.patch("/api/v1/me", {"bio": "again"})
    error = refused.json()["error"]
    assert error["code"] == "throttled"
    assert error["retry_after"] > 3600  # the daily budget is what is exhausted now


def test_a_refused_follow_spends_neither_the_follow_nor_the_write_budget(
        monkeypatch: pytest.MonkeyPatch, clock: Clock, phone: MobileClient, user: Any) -> None:
    # given: the day's writes are spent
    _rates(monkeypatch, sustained="1/day", follow="3/hour")
    assert _patch_me(phone, 0) == 200
    target = UserFactory()

    # when: follows are refused by the write budget
    for _ in range(5):
        assert phone.post(f"/api/v1/users/{target.username}/follow").status_code == 429

    # then: the follow budget was not touched
    assert recorded_requests(f"throttle_follow_{user.pk}") == 0


def test_ending_sessions_deactivating_and_logging_out_work_when_writes_are_throttled(
        monkeypatch: pytest.MonkeyPatch, clock: Clock, user: Any) -> None:
    # given: the owner and a thief (a stolen token) share the day's write budget, spent
    _rates(monkeypatch, sustained="1/day")
    owner = MobileClient(device_id="owner-phone")
    thief = MobileClient(device_id="thief-phone")
    spare = MobileClient(device_id="owner-tablet")
    for client in (owner, thief, spare):
        assert client.login(user.username).status_code == 200
    assert _patch_me(thief, 0) == 200
    assert _patch_me(owner, 1) == 429

    # when / then: the owner can still end the thief's session ...
    thief_session = UserSession.objects.get(session_key=thief.token)
    assert owner.delete(f"/api/v1/me/sessions/{thief_session.pk}").status_code == 204
    assert thief.get("/api/v1/me").status_code == 401
    # ... end all the others ...
    response = owner.post("/api/v1/me/sessions/revoke-all", {"keep_current": True})
    assert response.status_code == 200, response.content
    assert response.json() == {"ended": 1}
    assert spare.get("/api/v1/me").status_code == 401
    # ... log out (allauth) ...
    assert owner.delete(f"{APP}/auth/session").status_code == 401
    assert owner.get("/api/v1/me").status_code == 401
    # ... and deactivate from a new session (after re-authenticating: apps.accounts.
    # reauthentication; allauth's endpoint is not ours to throttle either)
    again = MobileClient(device_id="owner-phone")
    assert again.login(user.username).status_code == 200
    again.reauthenticate()
    assert again.post("/api/v1/me/deactivate").status_code == 200
    assert again.get("/api/v1/me").status_code == 401


def _project_throttle_classes() -> set[type[BaseThrottle]]:
    for module in pkgutil.walk_packages(apps.__path__, "apps."):
        if ".migrations" in module.name or ".management" in module.name:
            continue
        importlib.import_module(module.name)

    def subclasses(cls: type[BaseThrottle]) -> set[type[BaseThrottle]]:
        found = set(cls.__subclasses__())
        for sub in list(found):
            found |= subclasses(sub)
        return found

    return {cls for cls in subclasses(BaseThrottle) if cls.__module__.startswith("apps.")}


def test_every_throttle_in_the_project_counts_only_allowed_requests() -> None:
    throttles = _project_throttle_classes()
    assert len(throttles) >= 8  # core's, social's, moderation's, events', web's
    assert {cls for cls in throttles if not issubclass(cls, CountedRateThrottle)} == set()


# --- one round trip, atomic -----------------------------------------------------------------


def test_all_of_a_requests_budgets_take_one_redis_command(
        monkeypatch: pytest.MonkeyPatch, client: Any) -> None:
    # given: the search endpoint's three budgets (anonymous reads, per caller, per IP); a
    # blank query answers before the search itself touches Redis. Every command sent to
    # Redis is noted (redis-py's own client, which the cache uses)
    sent: list[str] = []
    real = redis.Redis.execute_command

    def noted(self: redis.Redis, *args: Any, **options: Any) -> Any:
        sent.append(str(args[0]))
        return real(self, *args, **options)

    monkeypatch.setattr(redis.Redis, "execute_command", noted)
    assert client.get("/api/v1/search", {"q": ""}).status_code == 200  # loads the script
    sent.clear()

    # when
    for _ in range(3):
        assert client.get("/api/v1/search", {"q": ""}).status_code == 200

    # then: one command a request (it was six: a read and a write per budget), and every
    # budget counted every request
    assert sent == ["EVALSHA"] * 3
    for scope in ("anon_read", "search_user", "search_ip"):
        assert recorded_requests(f"throttle_{scope}_127.0.0.1") == 4


class _RaceBudget(CountedRateThrottle):
    scope = "race"
    rate = "5/min"

    def get_cache_key(self, request: Any, view: Any) -> str:
        return "throttle_race"


class _RaceView(APIView):
    throttle_classes = [_RaceBudget]


def test_concurrent_requests_never_overspend_a_budget() -> None:
    # given: a budget of 5 a minute and 12 requests arriving at once
    view = _RaceView()
    start = threading.Barrier(12)

    def one(_: int) -> bool:
        request = Request(APIRequestFactory().get("/"))
        start.wait()
        return _RaceBudget().allow_request(request, view)

    # when
    with ThreadPoolExecutor(max_workers=12) as pool:
        allowed = list(pool.map(one, range(12)))

    # then: judging and recording are one atomic step, so exactly 5 get through
    assert allowed.count(True) == 5
    assert recorded_requests("throttle_race") == 5


def test_a_budget_left_by_the_list_based_throttle_does_not_break_requests(client: Any) -> None:
    # given: Redis still holds a budget as the previous version wrote it (a pickled list
    # of times under the throttle's key), as right after a deploy
    cache.set("throttle_anon_read_127.0.0.1", [1_800_000_000.0], 86400)

    # when / then: requests are judged in the new budget, not refused with a WRONGTYPE
    assert client.get("/api/v1/search", {"q": ""}).status_code == 200
    assert recorded_requests("throttle_anon_read_127.0.0.1") == 1
