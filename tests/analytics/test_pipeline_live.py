"""End to end on the real processes: events posted to uvicorn over HTTP land in the log, a
real Celery worker (the `reco` queue task that beat runs) aggregates them."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

import pytest

from apps.analytics.models import PostHourlyStats, UserPostStats
from apps.analytics.selectors import seen_post_ids
from apps.analytics.tasks import consume_events
from tests.content.factories import PostFactory
from tests.events.helpers import event
from tests.factories import UserFactory


def http_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # loopback only
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.mark.django_db(transaction=True)
def test_events_over_http_are_aggregated_by_the_worker(live_asgi_server, celery_worker_process):
    viewer = UserFactory()
    post = PostFactory()
    status, body = http_post(
        f"{live_asgi_server}/_allauth/app/v1/auth/login",
        json.dumps({"username": viewer.username, "password": "correct-horse-battery"}).encode(),
        {"Content-Type": "application/json"})
    assert status == 200, body
    token = body["meta"]["session_token"]

    # an app batch with a token, and a signed-out web viewer's sendBeacon (text/plain)
    app_events = [event("impression", post_id=post.pk), event("play_start", post_id=post.pk),
                  event("watch_end", post_id=post.pk, watched_ms=6_000, duration_ms=12_000)]
    status, body = http_post(f"{live_asgi_server}/api/v1/events",
                             json.dumps({"events": app_events}).encode(),
                             {"Content-Type": "application/json", "X-Session-Token": token})
    assert (status, body) == (200, {"accepted": 3, "duplicates": 0, "dropped": 0,
                                      "rejected": []})
    beacon = [event("impression", post_id=post.pk, session_id="web-xyz")]
    status, body = http_post(f"{live_asgi_server}/api/v1/events",
                             json.dumps({"events": beacon}).encode(),
                             {"Content-Type": "text/plain;charset=UTF-8"})
    assert (status, body) == (200, {"accepted": 1, "duplicates": 0, "dropped": 0,
                                      "rejected": []})

    consume_events.delay()
    deadline = time.monotonic() + 90
    while not PostHourlyStats.objects.filter(post_id=post.pk).exists():
        assert time.monotonic() < deadline, "the worker did not aggregate the events"
        time.sleep(0.3)

    hour = PostHourlyStats.objects.get(post_id=post.pk)
    assert (hour.impressions, hour.plays, hour.watch_ms) == (2, 1, 6_000)
    up = UserPostStats.objects.get(user_id=viewer.pk, post_id=post.pk)
    assert (up.impressions, up.plays, up.watch_ms, up.max_completion) == (1, 1, 6_000, 0.5)
    assert seen_post_ids(user_id=None, session_id="web-xyz") == [post.pk]
