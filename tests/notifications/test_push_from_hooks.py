"""From a like to a phone-style notification: the engagement hook, the notifications task
and push delivery together. The liked author's browser gets the notification decrypted,
and a growing group updates it under the same tag rather than adding another."""

from __future__ import annotations

from typing import Any

import pytest

from apps.engagement import services as engagement_services
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks
from tests.notifications.push_servers import SUBSCRIPTIONS_URL, WebPushService, signed_in

pytestmark = pytest.mark.django_db


def test_a_like_reaches_the_authors_browser_and_a_second_updates_it(
        webpush_service: WebPushService) -> None:
    post = PublishedPostFactory()
    browser = webpush_service.subscription()
    assert signed_in(post.author).post(SUBSCRIPTIONS_URL, browser.to_json(),
                                       format="json").status_code == 201

    engagement_services.like_create(user=UserFactory(username="maya"), post=post)
    run_notification_tasks()
    (first,) = webpush_service.to("/push/")
    assert first.problems == []
    assert first.payload["title"] == "maya liked your video"
    (row,) = inbox_of(post.author_id)
    assert first.payload["notification_id"] == str(row.pk)
    assert first.payload["badge"] == 1

    engagement_services.like_create(user=UserFactory(username="noor"), post=post)
    run_notification_tasks()
    _, second = webpush_service.to("/push/")
    assert second.problems == []
    assert "noor" in second.payload["title"]
    assert second.payload["tag"] == first.payload["tag"]  # one notification, updated
    assert second.headers["topic"] == first.headers["topic"]
    assert second.payload["notification_id"] == str(row.pk)


def test_over_the_push_budget_the_like_stays_in_the_inbox(
        webpush_service: WebPushService, settings: Any) -> None:
    settings.SWIPEME_PUSH_PER_HOUR = 1
    author = UserFactory()
    assert signed_in(author).post(SUBSCRIPTIONS_URL, webpush_service.subscription().to_json(),
                                  format="json").status_code == 201
    for n in range(3):
        engagement_services.like_create(user=UserFactory(), post=PublishedPostFactory(
            author=author, caption=f"clip {n}"))
        run_notification_tasks()
    assert len(inbox_of(author.pk)) == 3
    assert len(webpush_service.to("/push/")) == 1


def test_the_badge_counts_what_the_inbox_shows_not_what_a_muted_person_did(
        webpush_service: WebPushService) -> None:
    from apps.social import services as social_services

    author = UserFactory()
    assert signed_in(author).post(SUBSCRIPTIONS_URL, webpush_service.subscription().to_json(),
                                  format="json").status_code == 201
    muted = UserFactory()
    engagement_services.like_create(user=muted, post=PublishedPostFactory(author=author))
    run_notification_tasks()
    social_services.mute_create(muter=author, muted=muted)
    engagement_services.like_create(user=UserFactory(username="maya"),
                                    post=PublishedPostFactory(author=author))
    run_notification_tasks()
    _, latest = webpush_service.to("/push/")
    assert latest.payload["title"] == "maya liked your video"
    # the inbox hides the muted person's like: the phone's badge says 1, as the inbox does
    assert latest.payload["badge"] == 1
    assert signed_in(author).get("/api/v1/notifications/unread_count").json()["unread"] == 1
