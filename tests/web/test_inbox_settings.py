"""/inbox/settings: the notification preferences on the web (the API's use case): the
matrix with its defaults, quiet hours in the person's time zone, the digest, and refusals
said in words."""

from __future__ import annotations

import re
from datetime import time

import pytest
from django.test import Client

from apps.notifications import selectors
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _client() -> tuple[Client, object]:
    user = UserFactory()
    client = Client()
    client.force_login(user)
    return client, user


def _box(html: str, name: str) -> str:
    found = re.search(rf'<input type="checkbox" name="{re.escape(name)}"[^>]*>', html)
    assert found is not None, name
    return found.group(0)


def test_the_page_shows_the_matrix_with_defaults_and_saves_choices() -> None:
    client, user = _client()
    page = client.get("/inbox/settings")
    assert page.status_code == 200
    html = page.content.decode()
    # the defaults: likes pushed, comment likes not, security always (cannot be unticked)
    assert _box(html, "post_liked.push").endswith(" checked>")
    assert "checked" not in _box(html, "comment_liked.push")
    assert _box(html, "security.push").endswith(" checked disabled>")
    assert 'href="/inbox/settings"' in client.get("/inbox").content.decode()
    form = {"post_liked.in_app": "on", "comment.push": "on", "quiet_enabled": "on",
            "quiet_start": "22:30", "quiet_end": "07:00", "time_zone": "Asia/Tokyo",
            "digest": "daily"}
    saved = client.post("/inbox/settings", form, follow=True)
    assert "Your notification settings are saved." in saved.content.decode()
    prefs = selectors.preferences_for(user)  # type: ignore[arg-type]
    by_type = {row["type"]: row["channels"] for row in prefs.matrix}
    assert by_type["post_liked"] == {"in_app": True, "push": False, "email": False}
    assert by_type["comment"]["push"] is True
    assert by_type["security"] == {"in_app": True, "push": True, "email": True}
    assert (prefs.quiet_start, prefs.quiet_end, prefs.time_zone, prefs.digest) == (
        time(22, 30), time(7, 0), "Asia/Tokyo", "daily")


def test_refusals_are_said_in_words_and_change_nothing() -> None:
    client, user = _client()
    bad_zone = client.post("/inbox/settings", {"quiet_enabled": "on", "quiet_start": "22:00",
                                               "quiet_end": "07:00", "time_zone": "Mars/Base"})
    assert bad_zone.status_code == 400
    assert "Unknown time zone." in bad_zone.content.decode()
    no_end = client.post("/inbox/settings", {"quiet_enabled": "on", "quiet_start": "22:00",
                                             "quiet_end": "", "time_zone": ""})
    assert no_end.status_code == 400
    assert "Quiet hours need a start and an end." in no_end.content.decode()
    assert selectors.preferences_for(user).quiet_enabled is False  # type: ignore[arg-type]


def test_a_follow_request_row_without_a_choice_is_refused_not_declined() -> None:
    from apps.social import services as social_services
    from apps.social.models import FollowRequest
    from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks

    private, asker = UserFactory(is_private=True), UserFactory()
    social_services.follow_create(follower=asker, followee=private)
    run_notification_tasks()
    [row] = inbox_of(private.pk)
    client = Client()
    client.force_login(private)
    page = client.post(f"/inbox/{row.pk}/follow_request", {}, follow=True)
    assert "Choose Accept or Decline." in page.content.decode()
    assert FollowRequest.objects.filter(requester=asker, target=private).exists()
