"""The chat's limits come from one place (`apps.live.chat.limits`): what staff set on the
live policy in the admin (audited) holds from the next message on, through the API the
socket shares; the operational ones are Django settings."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core.cache import cache
from django.test import Client

from apps.core.models import AuditEvent
from apps.live.chat import presence
from apps.live.models import LiveModerator, LivePolicy, LiveStream
from tests.factories import UserFactory
from tests.live.live_helpers import client_for, host, on_air
from tests.live.test_admin import policy_form

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_counters() -> None:
    cache.clear()  # slow mode and rate limit counters of an earlier test


def _say(user: Any, live: LiveStream, text: str) -> Any:
    return client_for(user).post(f"/api/v1/live/{live.pk}/chat", {"text": text},
                                 format="json")


def _error(answer: Any, status: int) -> dict[str, Any]:
    assert answer.status_code == status, answer.content
    error: dict[str, Any] = answer.json()["error"]
    return error


def test_staff_set_the_chat_limits_in_the_admin_and_every_check_reads_them() -> None:
    creator = host()
    live, _ = on_air(creator)
    viewer, troll = UserFactory(), UserFactory()
    # the defaults
    state = client_for(viewer).get(f"/api/v1/live/{live.pk}/chat").json()
    assert state["limits"] == {"max_chars": 200,
                               "slow_mode_choices": [0, 3, 5, 10, 30, 60, 120],
                               "mute_minutes": [5, 30]}

    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    policy = LivePolicy.current()
    changed = staff.post(f"/django-admin/live/livepolicy/{policy.pk}/change/", {
        **policy_form(policy), "chat_max_chars": 12, "chat_burst_messages": 2,
        "chat_burst_seconds": 30, "chat_slow_mode_max_seconds": 30,
        "chat_mute_short_minutes": 10, "chat_mute_long_minutes": 60})
    assert changed.status_code == 302, changed.content
    audit = AuditEvent.objects.get(app="live", verb="livepolicy_change")
    assert audit.data["changed"] == {
        "chat_max_chars": 12, "chat_burst_messages": 2, "chat_burst_seconds": 30,
        "chat_slow_mode_max_seconds": 30, "chat_mute_short_minutes": 10,
        "chat_mute_long_minutes": 60}

    # what a joiner's client reads (the socket's `ready` is the same chat_state)
    state = client_for(viewer).get(f"/api/v1/live/{live.pk}/chat").json()
    assert state["limits"] == {"max_chars": 12, "slow_mode_choices": [0, 3, 5, 10, 30],
                               "mute_minutes": [10, 60]}

    # length, in words
    error = _error(_say(viewer, live, "thirteen chrs"), 400)
    assert error["message"] == "A chat message has at most 12 characters."
    assert _say(viewer, live, "twelve chars").status_code == 201

    # the burst: 2 in 30 s (the first message above counts)
    assert _say(viewer, live, "second").status_code == 201
    error = _error(_say(viewer, live, "third"), 429)
    assert error["code"] == "rate_limited"

    # slow mode up to the policy's longest, refused past it in words
    too_slow = client_for(creator).patch(f"/api/v1/live/{live.pk}/chat/settings",
                                         {"slow_mode_seconds": 60}, format="json")
    assert _error(too_slow, 400)["message"] == (
        "Slow mode is one of 0, 3, 5, 10, 30 seconds (0 turns it off).")
    assert client_for(creator).patch(f"/api/v1/live/{live.pk}/chat/settings",
                                     {"slow_mode_seconds": 30},
                                     format="json").status_code == 200

    # the mute lengths
    bad = client_for(creator).post(f"/api/v1/live/{live.pk}/mutes",
                                   {"user_id": str(troll.pk), "minutes": 5}, format="json")
    assert _error(bad, 400)["message"] == "A mute lasts 10 or 60 minutes."
    muted = client_for(creator).post(f"/api/v1/live/{live.pk}/mutes",
                                     {"user_id": str(troll.pk), "minutes": 60}, format="json")
    assert muted.status_code == 201, muted.content


def test_the_admin_refuses_limits_out_of_bounds() -> None:
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    policy = LivePolicy.current()
    answer = staff.post(f"/django-admin/live/livepolicy/{policy.pk}/change/", {
        **policy_form(policy), "chat_max_chars": 5000, "chat_burst_messages": 0})
    assert answer.status_code == 200  # the form again, with its errors
    assert "Ensure this value is less than or equal to 1000." in answer.content.decode()
    assert LivePolicy.current().chat_max_chars == 200
    assert not AuditEvent.objects.filter(app="live", verb="livepolicy_change").exists()


def test_the_operational_limits_are_settings(settings: Any) -> None:
    settings.SWIPEME_LIVE_CHAT_MAX_TAPS = 3
    settings.SWIPEME_LIVE_CHAT_MAX_MODERATORS = 1
    settings.SWIPEME_LIVE_CHAT_RECENT = 2
    creator = host()
    live, _ = on_air(creator)
    viewer = UserFactory()
    liked = client_for(viewer).post(f"/api/v1/live/{live.pk}/likes", {"count": 10},
                                    format="json")
    assert liked.status_code in (200, 201, 202), liked.content
    assert presence.counters(live.pk)["likes"] == 3

    first, second = UserFactory(), UserFactory()
    assert client_for(creator).post("/api/v1/live/chat/moderators",
                                    {"username": first.username},
                                    format="json").status_code == 201
    error = _error(client_for(creator).post("/api/v1/live/chat/moderators",
                                            {"username": second.username}, format="json"), 409)
    assert error["message"] == "You can name at most 1 moderators."
    assert LiveModerator.objects.filter(host=creator).count() == 1

    for text in ("one", "two", "three"):
        assert _say(creator, live, text).status_code == 201
    state = client_for(viewer).get(f"/api/v1/live/{live.pk}/chat").json()
    assert [m["text"] for m in state["messages"]] == ["two", "three"]


def test_the_player_page_is_rendered_with_the_policys_limits() -> None:
    policy = LivePolicy.current()
    policy.chat_max_chars, policy.chat_slow_mode_max_seconds = 90, 10
    policy.save()
    creator = host()
    live, _ = on_air(creator)
    page = Client()
    page.force_login(creator)
    html = page.get(f"/live/{live.pk}").content.decode()
    assert 'maxlength="90"' in html
    assert [int(v) for v in re.findall(r'<option value="(\d+)"', html)] == [0, 3, 5, 10]
