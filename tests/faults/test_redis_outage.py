"""Redis hung (SIGSTOP), then dead (SIGKILL), then back, under the real ASGI server: reads
answer 200 from PostgreSQL, writes commit or are refused with 503 + Retry-After (never a
500), /readyz says "degraded" at once, and everything goes back to Redis by itself.

No wall-clock assertion: every request has a generous client timeout (reaching it fails
the test), and the breaker's state is read from /readyz."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from apps.comments.models import Comment
from apps.content.models import Post
from apps.engagement.models import Like
from apps.social.models import Follow
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.faults.conftest import PrivateRedis

# Far above anything a hot-path Redis call may cost (tens of milliseconds) and below the
# seconds a request used to hang for; reaching it raises httpx.TimeoutException.
CLIENT_TIMEOUT = 10.0
PASSWORD = "correct-horse-battery"


def _sign_in(base: str, username: str) -> str:
    response = httpx.post(
        f"{base}/_allauth/app/v1/auth/login",
        json={"username": username, "password": PASSWORD},
        headers={"X-Device-ID": f"faults-{username}", "X-Client-Platform": "ios",
                 "X-App-Version": "1.0.0"},
        timeout=CLIENT_TIMEOUT,
    )
    assert response.status_code == 200, response.text
    token: str = response.json()["meta"]["session_token"]
    return token


def _read_everything(base: str, *, token: str, handle: str, post: Post) -> dict[str, Any]:
    """Every read the issue names, signed out and signed in; {label: response}."""
    paths = ["/api/v1/feed/for-you", f"/api/v1/users/{handle}", f"/@{handle}",
             f"/api/v1/posts/{post.pk}"]
    out: dict[str, Any] = {}
    for path in paths:
        for who, headers in (("anon", {}), ("user", {"X-Session-Token": token})):
            out[f"{who} {path}"] = httpx.get(f"{base}{path}", headers=headers,
                                             timeout=CLIENT_TIMEOUT)
    return out


def _assert_all_ok(responses: dict[str, Any]) -> None:
    bad = {label: (r.status_code, r.text[:300]) for label, r in responses.items()
           if r.status_code != 200}
    assert not bad, bad


def _readyz(base: str) -> dict[str, Any]:
    response = httpx.get(f"{base}/readyz", timeout=CLIENT_TIMEOUT)
    body: dict[str, Any] = response.json()
    body["http_status"] = response.status_code
    return body


def _assert_degraded(base: str) -> None:
    body = _readyz(base)
    assert body["http_status"] == 200, body
    assert body["status"] == "degraded", body
    assert body["checks"]["redis"].startswith("unavailable"), body
    assert body["checks"]["redis_breaker"] == "open", body
    assert body["checks"]["database"] == "ok", body


def _assert_committed_or_refused(response: Any, committed: Any) -> None:
    """A write during the outage: committed to PostgreSQL, or refused cleanly (503,
    Retry-After, the error shape), never a 500."""
    if response.status_code == 503:
        assert response.headers["Retry-After"].isdigit(), response.headers
        assert set(response.json()["error"]) >= {"code", "message", "fields"}, response.text
        assert not committed(), "refused, yet written"
    else:
        assert response.status_code in (200, 201), response.text
        assert committed(), "accepted, yet not in PostgreSQL"


def _write_everything(base: str, *, token: str, post: Post, viewer: Any, author: Any,
                      round_: str) -> None:
    """A like, a comment, a profile edit and a follow (whose after-commit work, counters,
    moderation scans, needs Redis)."""
    headers = {"X-Session-Token": token}
    Like.objects.filter(post=post, user=viewer).delete()
    response = httpx.post(f"{base}/api/v1/posts/{post.pk}/like", headers=headers,
                          timeout=CLIENT_TIMEOUT)
    _assert_committed_or_refused(
        response, lambda: Like.objects.filter(post=post, user=viewer).exists())

    text = f"still here ({round_})"
    response = httpx.post(f"{base}/api/v1/posts/{post.pk}/comments", json={"text": text},
                          headers=headers, timeout=CLIENT_TIMEOUT)
    _assert_committed_or_refused(
        response, lambda: Comment.objects.filter(post=post, author=viewer, text=text).exists())

    bio = f"bio during the outage ({round_})"
    response = httpx.patch(f"{base}/api/v1/me", json={"bio": bio}, headers=headers,
                           timeout=CLIENT_TIMEOUT)
    _assert_committed_or_refused(
        response, lambda: type(viewer).objects.filter(pk=viewer.pk, bio=bio).exists())

    Follow.objects.filter(follower=viewer, followee=author).delete()
    response = httpx.post(f"{base}/api/v1/users/{author.username}/follow", headers=headers,
                          timeout=CLIENT_TIMEOUT)
    _assert_committed_or_refused(
        response, lambda: Follow.objects.filter(follower=viewer, followee=author).exists())


def _send_event(base: str, *, token: str, post: Post) -> None:
    """The event API accepts: without the Redis stream the batch is spooled to PostgreSQL
    (apps.events.spool; tests/faults/test_writes_lose_nothing.py drains it)."""
    event = {"id": f"ev-{time.time_ns()}", "type": "impression", "ts": time.time_ns() // 10**6,
             "session_id": "faults", "post_id": str(post.pk), "data": {}}
    response = httpx.post(f"{base}/api/v1/events", json={"events": [event]},
                          headers={"X-Session-Token": token}, timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == 1, response.text


def _wait_until(predicate: Any, what: str, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, f"no recovery: {what}"
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_reads_survive_a_hung_then_dead_redis_and_recover_when_it_returns(
    asgi_server_on_private_redis: str, private_redis: PrivateRedis
) -> None:
    base = asgi_server_on_private_redis
    author = UserFactory(username="maya")
    post = PostFactory(author=author, caption="a clip #faults", likes_count=7)
    viewer = UserFactory()
    token = _sign_in(base, viewer.username)

    # given: everything answers with Redis up, and the breaker is closed
    _assert_all_ok(_read_everything(base, token=token, handle="maya", post=post))
    body = _readyz(base)
    assert body["checks"]["redis"] == "ok", body
    assert body["checks"]["redis_breaker"] == "closed", body

    # when: Redis hangs (accepts connections, never answers)
    private_redis.hang()
    try:
        for _ in range(2):  # the first round trips the breaker, the second runs without Redis
            responses = _read_everything(base, token=token, handle="maya", post=post)
            _assert_all_ok(responses)
        # then: counters are the last flushed PostgreSQL value
        assert responses[f"anon /api/v1/posts/{post.pk}"].json()["counts"]["likes"] == 7
        _assert_degraded(base)
        _write_everything(base, token=token, post=post, viewer=viewer, author=author,
                          round_="hung")
        _send_event(base, token=token, post=post)
        _assert_all_ok(_read_everything(base, token=token, handle="maya", post=post))
    finally:
        private_redis.resume()

    # when: Redis dies (connections refused) and stays dead
    private_redis.kill()
    for _ in range(2):
        _assert_all_ok(_read_everything(base, token=token, handle="maya", post=post))
    _assert_degraded(base)
    _write_everything(base, token=token, post=post, viewer=viewer, author=author,
                      round_="dead")
    _send_event(base, token=token, post=post)

    # when: it comes back (empty: nothing was persisted)
    private_redis.start()

    # then: the process probes it again by itself, closes the breaker ...
    _wait_until(lambda: _readyz(base)["checks"]["redis_breaker"] == "closed",
                "the breaker closes")
    assert _readyz(base)["checks"]["redis"] == "ok"
    _assert_all_ok(_read_everything(base, token=token, handle="maya", post=post))
    # ... and the throttles count in Redis again (the anonymous read budget's history)
    keys = private_redis.client().keys("*throttle_anon_read*")
    assert keys, "anonymous reads are not counted in Redis after the recovery"
