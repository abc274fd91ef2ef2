"""E-mail digests (issue 14): planned at each person's local morning, sent once per period
even when the beat task runs twice or two workers run at once, only the types the person
gets by e-mail, and left from the e-mail without signing in (signed token, RFC 8058
one-click). Mail goes through Django's SMTP backend to a real SMTP server on loopback."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from django.conf import settings
from django.core import signing
from django.db import close_old_connections, connection
from django.test import Client

from apps.accounts.models import User
from apps.notifications import selectors, services
from apps.notifications.digest import services as digests
from apps.notifications.digest.models import DigestRun
from apps.notifications.digest.tokens import SALT, make_token
from apps.notifications.models import Delivery, Notification
from apps.notifications.services import Candidate
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.notifications.smtp_server import SmtpServer

MONDAY_0705_UTC = datetime(2026, 12, 7, 7, 5, tzinfo=UTC)  # 08:05 in Paris


def happened_before(now: datetime, *users: User) -> None:
    """The tests' digests run on a fixed Monday, not on the real clock: the users'
    notifications happened an hour before it."""
    Notification.objects.filter(recipient_id__in=[u.pk for u in users]).update(
        updated_at=now - timedelta(hours=1))


def person(zone: str = "", frequency: str | None = None) -> User:
    user = UserFactory()
    if zone:
        services.preferences_update(user=user, quiet_hours={"time_zone": zone})
    if frequency:
        services.digest_frequency_set(user_id=user.pk, frequency=frequency)
    return user


def likes(owner: User, count: int) -> list[User]:
    """`count` people like one of the owner's videos (one grouped notification)."""
    post = PublishedPostFactory(author=owner)
    likers: list[User] = [UserFactory(username=f"liker{i}x{owner.pk}") for i in range(count)]
    services.notify([Candidate(owner.pk, "post_liked", f"post_liked:{u.pk}:{post.pk}",
                               actor_id=u.pk, target_type="post", target_id=post.pk,
                               group_key=f"post_liked:post:{post.pk}") for u in likers])
    return likers


def followed_by(owner: User) -> User:
    follower = UserFactory()
    services.notify([Candidate(owner.pk, "follow", f"follow:{follower.pk}:{owner.pk}",
                               actor_id=follower.pk, target_type="user",
                               target_id=follower.pk, group_key=f"follow:user:{owner.pk}")])
    return follower


def run_beat(now: datetime) -> None:
    digests.digests_plan(now=now)
    digests.digests_send(now=now)


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None
    assert html is not None
    return str(text.get_content()), str(html.get_content())


def unsubscribe_path(message: EmailMessage) -> str:
    match = re.search(r"<(https?://[^>]+/email/unsubscribe/[^>]+)>",
                      str(message["List-Unsubscribe"]))
    assert match, message["List-Unsubscribe"]
    return match.group(1).removeprefix(settings.SITE_URL.rstrip("/"))


@pytest.mark.django_db
def test_digest_over_smtp_grouped_with_parts_links_and_headers(
        smtp_server: SmtpServer, settings: Any) -> None:
    settings.SWIPEME_UNSUBSCRIBE_MAILTO = "unsubscribe@swipeme.example"
    maya = person("Europe/Paris")
    likers = likes(maya, 42)
    follower = followed_by(maya)
    happened_before(MONDAY_0705_UTC, maya)

    run_beat(MONDAY_0705_UTC)

    [message] = smtp_server.to(maya.email)
    text, html = parts(message)
    grouped = f"{likers[-1].username} and 41 others liked your video"
    assert grouped in text
    assert grouped in html
    assert f"{follower.username} started following you" in text
    # the newest first, as in the inbox
    assert message["Subject"] == f"{follower.username} started following you, and 1 more on SwipeMe"
    site = settings.SITE_URL.rstrip("/")
    post_id = Notification.objects.get(recipient_id=maya.pk, type="post_liked").target_id
    assert f"{site}/p/{post_id}/" in text
    assert f'href="{site}/p/{post_id}/"' in html
    # every link is absolute (a mail client has no base URL)
    assert not re.findall(r'href="(?!https?://)', html)
    # RFC 2369 + RFC 8058 headers: https one-click and the configured mailbox
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    header = str(message["List-Unsubscribe"]).strip()  # unfolded by the parser
    assert re.fullmatch(rf"<{re.escape(site)}/email/unsubscribe/[^>]+/>, "
                        r"<mailto:unsubscribe@swipeme\.example\?subject=unsubscribe%20[^>]+>",
                        header), header
    assert f"{site}{unsubscribe_path(message)}" in text
    assert DigestRun.objects.get(user_id=maya.pk).status == DigestRun.Status.SENT

    # the beat runs again in the same morning: nothing more
    run_beat(MONDAY_0705_UTC.replace(minute=20))
    assert len(smtp_server.to(maya.email)) == 1
    assert DigestRun.objects.filter(user_id=maya.pk).count() == 1


@pytest.mark.django_db
def test_next_digest_has_only_what_came_since_and_nothing_means_no_mail(
        smtp_server: SmtpServer) -> None:
    leo = person("", "daily")
    followed_by(leo)
    monday_0805_utc = MONDAY_0705_UTC.replace(hour=8)
    happened_before(monday_0805_utc, leo)
    run_beat(monday_0805_utc)
    assert len(smtp_server.to(leo.email)) == 1
    # Tuesday: nothing new (the follow is still unread but was in Monday's digest)
    tuesday = monday_0805_utc.replace(day=8)
    run_beat(tuesday)
    assert len(smtp_server.to(leo.email)) == 1
    assert DigestRun.objects.get(user_id=leo.pk, period="d2026-12-08").status == "empty"


@pytest.mark.django_db
def test_rate_limited_pushes_are_in_the_digest_and_read_ones_are_not(
        smtp_server: SmtpServer) -> None:
    ana = person()
    follower = followed_by(ana)
    folded = Notification.objects.get(recipient_id=ana.pk)
    # the push budget folded this one out of the phone
    Delivery.objects.create(notification=folded, channel="push", seq=folded.seq,
                            status=Delivery.Status.RATE_LIMITED)
    likes(ana, 1)
    services.notifications_mark_read_about(user=ana, target_type="post", target_ids=[
        Notification.objects.get(recipient_id=ana.pk, type="post_liked").target_id or 0])
    happened_before(MONDAY_0705_UTC.replace(hour=8), ana)
    run_beat(MONDAY_0705_UTC.replace(hour=8))
    [message] = smtp_server.to(ana.email)
    text, _ = parts(message)
    assert f"{follower.username} started following you" in text
    assert "liked your video" not in text


@pytest.mark.parametrize(("zone", "due_utc", "not_yet_utc"), [
    ("Europe/Paris", (7, 5), (6, 55)),
    ("Asia/Tokyo", (23, 5), (22, 55)),  # Monday 08:05 in Tokyo is Sunday 23:05 UTC
    ("America/New_York", (13, 5), (12, 55)),
    ("Asia/Kolkata", (2, 35), (2, 25)),  # UTC+05:30
    ("", (8, 5), (7, 55)),  # no time zone set: UTC
])
@pytest.mark.django_db
def test_weekly_digest_is_planned_at_local_monday_morning(
        zone: str, due_utc: tuple[int, int], not_yet_utc: tuple[int, int]) -> None:
    user = person(zone)
    day = 6 if zone == "Asia/Tokyo" else 7

    def at(hour_minute: tuple[int, int]) -> datetime:
        return datetime(2026, 12, day, *hour_minute, tzinfo=UTC)

    assert digests.digests_plan(now=at(not_yet_utc)) == 0
    digests.digests_plan(now=at(due_utc))
    assert list(DigestRun.objects.filter(user_id=user.pk).values_list("period", flat=True)) \
        == ["w2026-W50"]
    # a missed beat is made up within the window; past it, it waits for the next period
    assert digests.due_periods(zone=zone, now=at(due_utc).replace(minute=55)) != {}
    assert digests.due_periods(zone=zone, now=at(not_yet_utc).replace(
        hour=(not_yet_utc[0] + 3) % 24)) == {}


@pytest.mark.django_db
def test_daily_every_morning_weekly_on_mondays_off_never() -> None:
    daily, weekly, off = person("", "daily"), person(), person("", "off")
    gone = person("", "daily")
    gone.is_active = False  # suspended: no e-mail
    gone.save(update_fields=["is_active"])
    tuesday_0805 = datetime(2026, 12, 8, 8, 5, tzinfo=UTC)
    digests.digests_plan(now=tuesday_0805)
    digests.digests_plan(now=MONDAY_0705_UTC.replace(hour=8))
    periods = dict(DigestRun.objects.filter(user_id__in=[daily.pk, weekly.pk, off.pk, gone.pk])
                   .values_list("period", "user_id"))
    assert sorted(DigestRun.objects.filter(user_id=daily.pk).values_list("period", flat=True)) \
        == ["d2026-12-07", "d2026-12-08"]
    assert list(DigestRun.objects.filter(user_id=weekly.pk).values_list("period", flat=True)) \
        == ["w2026-W50"]
    assert off.pk not in periods.values()
    assert gone.pk not in periods.values()


@pytest.mark.django_db
def test_types_turned_off_for_email_stay_out(smtp_server: SmtpServer) -> None:
    only_follows, nothing = person(), person()
    services.preferences_update(user=only_follows, channels={"post_liked": {"email": False}})
    services.preferences_update(user=nothing, channels={"follow": {"email": False}})
    likes(only_follows, 2)
    follower = followed_by(only_follows)
    followed_by(nothing)
    happened_before(MONDAY_0705_UTC.replace(hour=8), only_follows, nothing)
    run_beat(MONDAY_0705_UTC.replace(hour=8))
    [message] = smtp_server.to(only_follows.email)
    text, html = parts(message)
    assert f"{follower.username} started following you" in text
    assert "liked your video" not in text + html
    assert smtp_server.to(nothing.email) == []
    assert DigestRun.objects.get(user_id=nothing.pk).status == DigestRun.Status.EMPTY


def _together(count: int, work: Callable[[], object]) -> None:
    """Run `work` in `count` threads released at once, each on its own connection."""
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            work()
        except BaseException as exc:  # noqa: BLE001 - re-raised in the test
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_send_each_digest_once(smtp_server: SmtpServer) -> None:
    people = [person() for _ in range(6)]
    for someone in people:
        followed_by(someone)
    now = MONDAY_0705_UTC.replace(hour=8)
    happened_before(now, *people)
    close_old_connections()
    _together(2, lambda: digests.digests_plan(now=now))
    assert DigestRun.objects.filter(user_id__in=[p.pk for p in people]).count() == 6
    _together(2, lambda: digests.digests_send(now=now))
    for someone in people:
        assert len(smtp_server.to(someone.email)) == 1, someone
    assert set(DigestRun.objects.filter(user_id__in=[p.pk for p in people])
               .values_list("status", flat=True)) == {DigestRun.Status.SENT}
    _together(2, lambda: run_beat(now.replace(minute=20)))
    assert sum(len(smtp_server.to(p.email)) for p in people) == 6


@pytest.mark.django_db
def test_smtp_failure_leaves_the_digest_pending_for_the_next_run(
        smtp_server: SmtpServer, settings: Any) -> None:
    user = person()
    followed_by(user)
    now = MONDAY_0705_UTC.replace(hour=8)
    happened_before(now, user)
    settings.EMAIL_PORT = 1  # nothing listens: the send fails
    run_beat(now)
    run = DigestRun.objects.get(user_id=user.pk)
    assert (run.status, run.attempts) == (DigestRun.Status.PENDING, 1)
    settings.EMAIL_PORT = smtp_server.port
    run_beat(now.replace(minute=20))
    assert len(smtp_server.to(user.email)) == 1
    assert DigestRun.objects.get(user_id=user.pk).status == DigestRun.Status.SENT


@pytest.mark.django_db
def test_unsubscribe_from_the_link_without_signing_in(smtp_server: SmtpServer) -> None:
    user = person()
    followed_by(user)
    happened_before(MONDAY_0705_UTC.replace(hour=8), user)
    run_beat(MONDAY_0705_UTC.replace(hour=8))
    [message] = smtp_server.to(user.email)
    path = unsubscribe_path(message)
    browser = Client(enforce_csrf_checks=True)  # signed out, no CSRF cookie

    asked = browser.get(path)
    assert asked.status_code == 200
    assert "Unsubscribe from the SwipeMe e-mail digest?" in asked.content.decode()
    assert selectors.digest_frequency(user.pk) == "weekly"  # a GET (link scanner) changes nothing

    done = browser.post(path)  # the page's button
    assert done.status_code == 200
    assert "You will no longer receive the SwipeMe e-mail digest" in done.content.decode()
    assert selectors.digest_frequency(user.pk) == "off"
    followed_by(user)
    digests.digests_plan(now=datetime(2026, 12, 14, 8, 5, tzinfo=UTC))
    assert list(DigestRun.objects.filter(user_id=user.pk).values_list("period", flat=True)) \
        == ["w2026-W50"]  # the one sent before, none for the next week


@pytest.mark.django_db
def test_one_click_post_rfc8058_without_session_or_csrf(smtp_server: SmtpServer) -> None:
    user = person("", "daily")
    followed_by(user)
    happened_before(MONDAY_0705_UTC.replace(hour=8), user)
    run_beat(MONDAY_0705_UTC.replace(hour=8))
    [message] = smtp_server.to(user.email)
    response = Client(enforce_csrf_checks=True).post(
        unsubscribe_path(message), "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert selectors.digest_frequency(user.pk) == "off"


@pytest.mark.django_db
def test_tampered_expired_or_foreign_tokens_get_a_page_not_a_500(settings: Any) -> None:
    user = person()
    token = make_token(user_id=user.pk, list_name="digest")
    other = person()
    payload, _, signature = token.rpartition(":")
    forged_user = signing.dumps({"u": other.pk, "l": "digest"}, salt="another-salt")
    wrong_list = signing.dumps({"u": other.pk, "l": "everything"}, salt=SALT)
    client = Client(enforce_csrf_checks=True)
    for bad in [f"{payload}:{signature[:-1]}A" if signature[-1] != "A" else f"{payload}:x",
                token.replace(token[2], "Z" if token[2] != "Z" else "Y", 1),
                forged_user, wrong_list, "not-a-token"]:
        for method in (client.get, client.post):
            response = method(f"/email/unsubscribe/{bad}/")
            assert response.status_code == 400, (bad, response.status_code)
            page = response.content.decode()
            assert "This link does not work" in page
            assert "Nothing was changed" in page
    settings.SWIPEME_UNSUBSCRIBE_TOKEN_MAX_AGE = -1
    expired = client.post(f"/email/unsubscribe/{token}/")
    assert expired.status_code == 400
    assert "This unsubscribe link has expired." in expired.content.decode()
    assert selectors.digest_frequency(user.pk) == "weekly"
    assert selectors.digest_frequency(other.pk) == "weekly"


@pytest.mark.django_db
def test_digest_frequency_in_the_preferences_api() -> None:
    from rest_framework.test import APIClient

    me = person()
    client = APIClient()
    client.force_authenticate(me)
    assert client.get("/api/v1/notifications/preferences").json()["digest"] == "weekly"
    changed = client.put("/api/v1/notifications/preferences", {"digest": "daily"},
                         format="json")
    assert changed.status_code == 200, changed.json()
    assert changed.json()["digest"] == "daily"
    assert selectors.digest_frequency(me.pk) == "daily"
    refused = client.put("/api/v1/notifications/preferences", {"digest": "hourly"},
                         format="json")
    assert refused.status_code == 400
    assert "digest" in refused.json()["error"]["fields"]
    assert selectors.digest_frequency(me.pk) == "daily"


@pytest.mark.django_db
def test_digests_go_only_to_a_verified_primary_address(smtp_server: SmtpServer) -> None:
    from allauth.account.models import EmailAddress

    verified, unverified, changing = (person("Europe/Paris") for _ in range(3))
    EmailAddress.objects.filter(user=unverified).update(verified=False)
    # changing address: the new one is on the account but not confirmed yet (the old,
    # verified one is no longer primary)
    EmailAddress.objects.filter(user=changing).update(primary=False)
    changing.email = f"new-{changing.email}"
    changing.save(update_fields=["email"])
    EmailAddress.objects.create(user=changing, email=changing.email, verified=False,
                                primary=True)
    for user in (verified, unverified, changing):
        followed_by(user)
    happened_before(MONDAY_0705_UTC, verified, unverified, changing)

    run_beat(MONDAY_0705_UTC)

    assert len(smtp_server.to(verified.email)) == 1
    assert smtp_server.to(unverified.email) == []
    assert smtp_server.to(changing.email) == []
    assert set(DigestRun.objects.values_list("user_id", flat=True)) == {verified.pk}

    # verified after the plan, unverified before the send: the send checks again
    run = DigestRun.objects.get(user_id=verified.pk)
    EmailAddress.objects.filter(user=verified).update(verified=False)
    DigestRun.objects.filter(pk=run.pk).update(status=DigestRun.Status.PENDING)
    run_beat(MONDAY_0705_UTC.replace(minute=10))
    assert len(smtp_server.to(verified.email)) == 1
    assert DigestRun.objects.get(pk=run.pk).status == DigestRun.Status.EMPTY
