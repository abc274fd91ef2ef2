"""The inbox API: tabs, cursor pages with a constant number of queries, unread count,
mark one / all read, other people's ids, preferences (matrix, quiet hours, errors in the
error shape), per-creator post notifications; and delivery by preferences and quiet
hours; moderation notices and security events in the inbox; the web page."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from django.db import connection
from django.test import Client, TestCase
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.comments import services as comment_services
from apps.content.models import Post
from apps.engagement import services as engagement_services
from apps.moderation.services import enforce
from apps.notifications import services
from apps.notifications.models import (
    CreatorPostSubscription,
    Delivery,
    HeldPush,
    Inbox,
    Notification,
)
from apps.notifications.services import Candidate
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks
from tests.social.factories import BlockFactory, FollowFactory

pytestmark = pytest.mark.django_db


def client_for(user: User) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def busy_inbox(owner: User, *, likes: int, comments: int) -> Post:
    post = PublishedPostFactory(author=owner)
    for _ in range(likes):  # each on its own post: no grouping, one row each
        engagement_services.like_create(user=UserFactory(), post=PublishedPostFactory(author=owner))
    with TestCase.captureOnCommitCallbacks(execute=True):  # comments announce after commit
        for _ in range(comments):
            comment_services.comment_create(author=UserFactory(), post=post, text="nice")
    run_notification_tasks()
    return post


def test_list_tabs_cursor_and_a_constant_number_of_queries() -> None:
    owner = UserFactory()
    busy_inbox(owner, likes=6, comments=6)
    client = client_for(owner)
    counts = []
    for size in (2, 12):
        with CaptureQueriesContext(connection) as queries:
            page = client.get(f"/api/v1/notifications?page_size={size}")
        assert page.status_code == 200
        assert len(page.json()["results"]) == size
        counts.append(len(queries))
    assert counts[0] == counts[1], counts
    first = client.get("/api/v1/notifications?page_size=5").json()
    row = first["results"][0]
    assert set(row) >= {"id", "seq", "type", "title", "body", "url", "actors", "actor_count",
                        "read", "target_type", "target_id", "extra", "created_at"}
    assert row["type"] == "comment"
    assert row["title"].endswith("commented on your video")
    assert row["actors"][0]["username"]
    rows, page = list(first["results"]), first
    while page["next"]:
        page = client.get(page["next"]).json()
        rows += page["results"]
    seqs = [r["seq"] for r in rows]
    assert seqs == sorted(seqs, reverse=True)
    assert len(set(seqs)) == len(seqs) == 12
    likes = client.get("/api/v1/notifications?tab=likes&page_size=50").json()["results"]
    assert {r["type"] for r in likes} == {"post_liked"}
    assert len(likes) == 6
    comments = client.get("/api/v1/notifications?tab=comments").json()["results"]
    assert {r["type"] for r in comments} == {"comment"}
    bad = client.get("/api/v1/notifications?tab=bogus")
    assert bad.status_code == 400
    assert bad.json()["error"]["fields"]["tab"]
    assert client.get("/api/v1/notifications?cursor=zzz").status_code == 400


def test_unread_count_mark_one_and_all_and_other_peoples_ids() -> None:
    owner, other = UserFactory(), UserFactory()
    busy_inbox(owner, likes=3, comments=0)
    client = client_for(owner)
    assert client.get("/api/v1/notifications/unread_count").json() == {"unread": 3}
    newest, *_ = inbox_of(owner.pk)
    assert client.post(f"/api/v1/notifications/{newest.pk}/read").status_code == 204
    assert client.get("/api/v1/notifications/unread_count").json() == {"unread": 2}
    # someone else's id, and ids that cannot exist: 404 in the error shape; signed out 401
    for path in (f"/api/v1/notifications/{newest.pk}/read", "/api/v1/notifications/abc/read",
                 f"/api/v1/notifications/{newest.pk}/follow_request"):
        answer = client_for(other).post(path, {"action": "accept"}, format="json")
        assert answer.status_code == 404
        assert answer.json()["error"]["code"] == "not_found"
        assert APIClient().post(path, {"action": "accept"}, format="json").status_code == 401
    assert Notification.objects.get(pk=newest.pk).read_at is not None
    assert client.post("/api/v1/notifications/read_all", {}, format="json").json() == {
        "marked": 2}
    assert client.get("/api/v1/notifications/unread_count").json() == {"unread": 0}
    assert APIClient().get("/api/v1/notifications").status_code == 401


def test_read_all_up_to_a_seq_leaves_newer_ones_unread() -> None:
    owner = UserFactory()
    busy_inbox(owner, likes=3, comments=0)
    oldest = inbox_of(owner.pk)[-1]
    answer = client_for(owner).post("/api/v1/notifications/read_all",
                                    {"up_to_seq": oldest.seq}, format="json")
    assert answer.json() == {"marked": 1}
    assert client_for(owner).post("/api/v1/notifications/read_all", {"up_to_seq": -1},
                                  format="json").status_code == 400


def test_preferences_matrix_quiet_hours_and_errors() -> None:
    me = UserFactory()
    client = client_for(me)
    prefs = client.get("/api/v1/notifications/preferences").json()
    by_type = {row["type"]: row for row in prefs["types"]}
    assert by_type["post_liked"]["channels"] == {"in_app": True, "push": True, "email": True}
    assert by_type["security"]["mandatory"] is True
    assert prefs["quiet_hours"]["enabled"] is False
    changed = client.put("/api/v1/notifications/preferences", {
        "channels": {"post_liked": {"push": False}},
        "quiet_hours": {"start": "22:00", "end": "07:00", "time_zone": "Europe/Paris"},
    }, format="json")
    assert changed.status_code == 200, changed.json()
    body = changed.json()
    assert {r["type"]: r for r in body["types"]}["post_liked"]["channels"]["push"] is False
    assert body["quiet_hours"] == {"enabled": True, "start": "22:00", "end": "07:00",
                                   "time_zone": "Europe/Paris"}
    for payload, field in [
        ({"channels": {"nope": {"push": False}}}, "channels.nope"),
        ({"channels": {"security": {"push": False}}}, "channels.security.push"),
        ({"quiet_hours": {"time_zone": "Mars/Olympus"}}, "quiet_hours.time_zone"),
        ({"quiet_hours": {"start": "22:00", "end": "22:00"}}, "quiet_hours.end"),
        ({"quiet_hours": {"start": "25:00", "end": "07:00"}}, "quiet_hours.start"),
        ({"channels": {"post_liked": {"push": "maybe"}}}, "channels.post_liked.push"),
    ]:
        answer = client.put("/api/v1/notifications/preferences", payload, format="json")
        assert answer.status_code == 400, payload
        assert field in answer.json()["error"]["fields"], (payload, answer.json())
    off = client.put("/api/v1/notifications/preferences",
                     {"quiet_hours": {"enabled": False}}, format="json").json()
    assert off["quiet_hours"]["enabled"] is False


def test_quiet_hours_rule_in_the_persons_time_zone() -> None:
    def quiet(start: time | None, end: time | None, zone: str, now: datetime) -> bool:
        return services.in_quiet_hours(start=start, end=end, zone=zone, now=now)

    # 14:00 UTC is 23:00 in Tokyo: quiet; 00:30 UTC is 09:30 there: not
    assert quiet(time(22), time(7), "Asia/Tokyo", datetime(2026, 3, 1, 14, tzinfo=UTC))
    assert not quiet(time(22), time(7), "Asia/Tokyo", datetime(2026, 3, 1, 0, 30, tzinfo=UTC))
    # a window within one day, in UTC (blank): the end is not quiet any more
    assert quiet(time(9), time(17), "", datetime(2026, 3, 1, 9, tzinfo=UTC))
    assert not quiet(time(9), time(17), "", datetime(2026, 3, 1, 17, tzinfo=UTC))
    assert not quiet(None, None, "", datetime(2026, 3, 1, 3, tzinfo=UTC))


def _liked(owner: User) -> Notification:
    post = PublishedPostFactory(author=owner)
    [row] = services.notify([Candidate(owner.pk, "post_liked", f"k{post.pk}",
                                       actor_id=UserFactory().pk, target_type="post",
                                       target_id=post.pk)])
    return row


def test_push_follows_preferences_and_quiet_hours_security_bypasses_them() -> None:
    owner = UserFactory()
    noon = datetime(2026, 3, 1, 12, tzinfo=UTC)
    row = _liked(owner)
    assert services.push_refusal(row, now=noon) == ""
    services.preferences_update(user=owner, channels={"post_liked": {"push": False}})
    assert services.push_refusal(row, now=noon) == "push off for this type"
    services.preferences_update(user=owner, channels={"post_liked": {"push": True}},
                                quiet_hours={"start": time(11), "end": time(13),
                                             "time_zone": "UTC"})
    assert services.push_refusal(row, now=noon) == "quiet hours"
    assert services.push_refusal(row, now=datetime(2026, 3, 1, 14, tzinfo=UTC)) == ""
    # comment likes are in the inbox only by default
    assert not services.channel_enabled(user_id=owner.pk, type_name="comment_liked",
                                        channel="push")  # type: ignore[arg-type]
    [security] = services.notify([Candidate(owner.pk, "security", "s1",
                                            data={"kind": "password_changed"})])
    assert services.push_refusal(security, now=noon) == ""  # quiet hours do not apply
    # in quiet hours the push is held until they end (test_quiet_hours_hold.py), once
    for _ in range(2):
        assert services.notification_deliver(notification_id=row.pk, seq=row.seq, now=noon) \
            == "held until 2026-03-01T13:00:00+00:00"
    assert list(HeldPush.objects.values_list("notification_id", "seq")) == [(row.pk, row.seq)]
    assert not Delivery.objects.filter(notification=row).exists()
    services.preferences_update(user=owner, quiet_hours={"enabled": False})
    # the task records what it did, once per state
    assert services.notification_deliver(notification_id=row.pk, seq=row.seq,
                                         now=noon) == "sent"
    assert services.notification_deliver(notification_id=row.pk, seq=row.seq,
                                         now=noon) == "done before"
    assert Delivery.objects.filter(notification=row).count() == 1
    assert services.notification_deliver(notification_id=row.pk, seq=row.seq - 1,
                                         now=noon) == "superseded"


def test_creator_post_notifications_opt_in_only_for_followed_creators() -> None:
    fan, creator = UserFactory(), UserFactory()
    client = client_for(fan)
    url = f"/api/v1/notifications/creators/{creator.username}"
    assert client.get(url).json() == {"level": "off"}
    refused = client.put(url, {"level": "all"}, format="json")
    assert refused.status_code == 409
    assert "Follow @" in refused.json()["error"]["message"]
    FollowFactory(follower=fan, followee=creator)
    assert client.put(url, {"level": "all"}, format="json").json() == {"level": "all"}
    assert client.put(url, {"level": "loud"}, format="json").status_code == 400
    assert client.get("/api/v1/notifications/creators/nobody-here").status_code == 404
    blocker = UserFactory()
    BlockFactory(blocker=blocker, blocked=fan)
    hidden = client.put(f"/api/v1/notifications/creators/{blocker.username}",
                        {"level": "off"}, format="json")
    assert hidden.status_code == 404
    assert APIClient().get(url).status_code == 401
    # a published post tells the subscribed follower, not the others
    bystander = UserFactory()
    FollowFactory(follower=bystander, followee=creator)
    post = PublishedPostFactory(author=creator, status=Post.Status.DRAFT)
    from apps.content.services.counters import _publish

    _publish(post, from_statuses=[Post.Status.DRAFT])
    run_notification_tasks()
    assert [(r.type, r.target_id) for r in inbox_of(fan.pk)] == [("new_post", post.pk)]
    assert inbox_of(bystander.pk) == []
    assert CreatorPostSubscription.objects.get(user=fan).level == "all"


def test_a_moderation_notice_is_in_the_inbox_with_the_rule_and_the_appeal() -> None:
    post = PublishedPostFactory()
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Sells fake tickets.")
    run_notification_tasks()
    [row] = inbox_of(post.author_id)
    assert row.type == "moderation_removal"
    assert row.data["title"] == "Your video was removed"
    assert row.data["guideline_url"] == "/pages/community-guidelines/spam_scam/"
    assert row.data["appeal_path"].startswith("/moderation/appeal/")
    listed = client_for(post.author).get("/api/v1/notifications").json()["results"]
    assert listed[0]["title"] == "Your video was removed"
    assert "Sells fake tickets." in listed[0]["body"]


def test_security_events_new_device_and_password_change() -> None:
    from apps.accounts.services import device_record

    me = UserFactory()
    device_record(user=me, session_key="s1", platform="ios", device_identifier="phone-1")
    device_record(user=me, session_key="s2", platform="ios", device_identifier="phone-1")
    run_notification_tasks()
    assert inbox_of(me.pk) == []  # the first device, then the same one again
    device_record(user=me, session_key="s3", platform="android", device_identifier="tab-9")
    web = Client()
    web.force_login(me)
    changed = web.post("/accounts/password/change/", {
        "oldpassword": "correct-horse-battery", "password1": "another-horse-battery-9",
        "password2": "another-horse-battery-9"})
    assert changed.status_code == 302
    run_notification_tasks()
    kinds = [r.data["kind"] for r in inbox_of(me.pk)]
    assert kinds == ["password_changed", "new_device"]


def test_a_change_of_the_main_email_address_is_told_as_a_security_event() -> None:
    """allauth's `email_changed` reaches accounts' security events (the one receiver of
    allauth's signals), which notifications tells and monetization's fraud signals read."""
    from allauth.account.models import EmailAddress
    from allauth.account.signals import email_changed

    from apps.monetization.models import AccountChange
    from apps.notifications.services import texts

    me = UserFactory()
    old = EmailAddress.objects.create(user=me, email="old@example.com", primary=False,
                                      verified=True)
    new = EmailAddress.objects.get(user=me, primary=True)
    email_changed.send(sender=EmailAddress, request=None, user=me, from_email_address=old,
                       to_email_address=new)
    run_notification_tasks()
    [row] = inbox_of(me.pk)
    assert row.data["kind"] == "email_changed"
    assert texts.describe(row)[0] == "Your e-mail address was changed"
    assert AccountChange.objects.filter(user_id=me.pk, kind=AccountChange.Kind.EMAIL).exists()


def test_the_web_inbox_tabs_badge_and_mark_all_read() -> None:
    owner = UserFactory()
    busy_inbox(owner, likes=2, comments=1)
    web = Client()
    web.force_login(owner)
    html = web.get("/inbox").content.decode()
    assert html.count('data-notification-id=') == 3
    assert 'aria-label="Inbox, 3 unread"' in html
    assert "liked your video" in html
    likes = web.get("/inbox?tab=likes").content.decode()
    assert likes.count('data-notification-id=') == 2
    answer = web.post("/inbox/read_all", {"tab": "likes"})
    assert answer.status_code == 302
    assert answer["Location"] == "/inbox?tab=likes"
    assert "data-unread-count" not in web.get("/inbox").content.decode()
    assert web.get("/notices").status_code == 200  # the moderation detail stays
    assert Inbox.objects.get(user=owner).last_seq == 3
