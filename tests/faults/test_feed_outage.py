"""For You while Redis is hung (the breaker open): a viewer with a history (likes, follows,
watched posts) still gets a page, served from PostgreSQL and the process's own pools."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from apps.engagement.models import Like
from apps.social.models import Follow
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.faults.conftest import PrivateRedis
from tests.faults.test_redis_outage import CLIENT_TIMEOUT, _readyz, _sign_in


def _for_you(base: str, token: str) -> dict[str, Any]:
    headers = {"X-Session-Token": token} if token else {}
    response = httpx.get(f"{base}/api/v1/feed/for-you", headers=headers,
                         timeout=CLIENT_TIMEOUT)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.mark.django_db(transaction=True)
def test_for_you_serves_a_viewer_with_history_while_redis_is_hung(
    asgi_server_on_private_redis: str, private_redis: PrivateRedis
) -> None:
    base = asgi_server_on_private_redis
    authors = [UserFactory() for _ in range(6)]
    posts = [PostFactory(author=authors[i % 6], caption=f"clip {i} #outage")
             for i in range(30)]
    viewer = UserFactory()
    token = _sign_in(base, viewer.username)
    headers = {"X-Session-Token": token}
    # a history: follows, likes, and watched posts (the event stream's seen-set)
    for author in authors[:2]:
        Follow.objects.create(follower=viewer, followee=author)
    for post in posts[:5]:
        Like.objects.create(user=viewer, post=post)
    now = int(time.time() * 1000)
    events: list[dict[str, Any]] = [
        {"id": f"ev-{post.pk}-{kind}", "type": kind, "ts": now, "session_id": "s1",
         "post_id": str(post.pk), "data": {}}
        for post in posts[:10] for kind in ("impression", "view_complete")]
    assert httpx.post(f"{base}/api/v1/events", json={"events": events}, headers=headers,
                      timeout=CLIENT_TIMEOUT).status_code == 200
    before = _for_you(base, token)
    assert before["results"], before

    private_redis.hang()
    try:
        pages = [_for_you(base, token) for _ in range(3)]  # the first trips the breaker
        assert _readyz(base)["checks"]["redis_breaker"] == "open"
        for page in pages[1:]:
            assert page["results"], page
        # and so does a viewer without history, and a signed-out one
        fresh = UserFactory()
        assert _for_you(base, _sign_in(base, fresh.username))["results"]
        assert _for_you(base, "")["results"]
    finally:
        private_redis.resume()
