"""Every chat route with an id refuses outsiders in the API's error shape (the attacker
sweep's registry names this test): on a live another account may not see, each is the
same 404 as an unknown live; signed out, the writes are 401/403; a viewer who may see the
live but is not its host or a moderator gets 403 in words from the host's tools; the
moderators list is the caller's own (someone else's moderator is a 404)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.live.chat import services
from apps.live.models import LiveChatMessage, LiveModerator, LiveStream
from apps.social.models import Follow
from tests.factories import UserFactory
from tests.live.live_helpers import client_for, host, on_air

pytestmark = pytest.mark.django_db

def _calls(live: LiveStream, message: LiveChatMessage, user_id: int
           ) -> list[tuple[str, str, dict[str, Any] | None]]:
    base = f"/api/v1/live/{live.pk}"
    return [
        ("get", f"{base}/chat", None),
        ("post", f"{base}/chat", {"text": "hi"}),
        ("patch", f"{base}/chat/settings", {"slow_mode_seconds": 3}),
        ("delete", f"{base}/chat/{message.pk}", None),
        ("put", f"{base}/pin", {"message_id": str(message.pk)}),
        ("delete", f"{base}/pin", None),
        ("post", f"{base}/mutes", {"user_id": str(user_id), "minutes": 5}),
        ("delete", f"{base}/mutes/{user_id}", None),
        ("post", f"{base}/bans", {"user_id": str(user_id)}),
        ("delete", f"{base}/bans/{user_id}", None),
        ("post", f"{base}/likes", {"count": 1}),
        ("post", f"{base}/gifts", {"gift_id": "1"}),
    ]


def _error(answer: Any) -> dict[str, Any]:
    body: dict[str, Any] = answer.json()["error"]
    assert set(body) == {"code", "message", "fields"}, body
    return body


def test_outsiders_reach_nothing_and_viewers_no_host_tools() -> None:
    creator = host()
    live, _ = on_air(creator, audience=LiveStream.Audience.FOLLOWERS)
    follower, stranger, victim = UserFactory(), UserFactory(), UserFactory()
    Follow.objects.create(follower=follower, followee=creator)
    Follow.objects.create(follower=victim, followee=creator)
    message, _, _ = services.chat_post(victim, live.pk, "a message to protect")
    LiveModerator.objects.create(host=creator, user=victim)
    for method, path, data in _calls(live, message, victim.pk):
        hidden = getattr(client_for(stranger), method)(path, data, format="json")
        assert hidden.status_code == 404, (method, path, hidden.content)
        assert "isn't available" in _error(hidden)["message"]
        anonymous = getattr(APIClient(), method)(path, data, format="json")
        expected = (404,) if method == "get" else (401, 403)
        assert anonymous.status_code in expected, (method, path, anonymous.content)
        _error(anonymous)
    # a follower may see the live, not use the host's tools
    for method, path, data in _calls(live, message, victim.pk)[2:10]:
        if method == "delete" and "/chat/" in path:
            continue  # deleting is the author's too: tried below
        answer = getattr(client_for(follower), method)(path, data, format="json")
        assert answer.status_code == 403, (method, path, answer.content)
        assert "Only the host" in _error(answer)["message"]
    taken = client_for(follower).delete(f"/api/v1/live/{live.pk}/chat/{message.pk}")
    assert taken.status_code == 403
    # someone else's moderator, and a message of another live, are 404s
    other_live, _ = on_air(host())
    assert client_for(follower).delete(
        f"/api/v1/live/chat/moderators/{victim.pk}").status_code == 404
    assert client_for(creator).delete(
        f"/api/v1/live/{other_live.pk}/chat/{message.pk}").status_code in (403, 404)
    assert client_for(other_live.host).delete(
        f"/api/v1/live/{other_live.pk}/chat/{message.pk}").status_code == 404
    assert client_for(creator).delete(
        f"/api/v1/live/{live.pk}/chat/not-an-id").status_code == 404
    # nothing moved
    message.refresh_from_db()
    assert message.hidden == ""
    assert LiveModerator.objects.filter(host=creator, user=victim).exists()
    live.refresh_from_db()
    assert (live.slow_mode_seconds, live.pinned_message_id) == (0, None)
