"""Issue 14: "the moderation notices that exist today move onto this system", whole.

Every notice moderation gives (removal, restriction, strike, feature limit, suspension,
ban, restore, appeal outcome, and a reporter's outcome) is a notification type, told only
through notifications (inbox, live, push, e-mail by the person's preferences; what
counts against the account and appeal outcomes cannot be turned off), with one read state
(the inbox's: `/notices` and the deprecated `/me/notices` read through it)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from apps.core.errors import ApplicationError
from apps.moderation.models import Appeal, Notice, Report
from apps.moderation.services import case_claim, case_decide, enforce, report_create
from apps.notifications import services as notification_services
from apps.notifications import types
from apps.notifications.digest import services as digests
from apps.notifications.models import Delivery, Notification
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks

pytestmark = pytest.mark.django_db


def _types_by_kind(user_id: int) -> dict[str, str]:
    return {str(n.data["kind"]): n.type for n in inbox_of(user_id)}


def test_each_kind_of_notice_is_a_notification_type_and_moderation_mails_nothing_itself(
        moderator: Any) -> None:
    post = PublishedPostFactory()
    creator = post.author
    enforce(action="age_restrict", target_type="post", target_id=post.pk,
            policy="violence_graphic", reason="Gore.")
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Sells fake tickets.")
    enforce(action="strike", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Spam.")
    suspension = enforce(action="suspend", target_type="user", target_id=creator.pk,
                         policy="spam_scam", reason="Spam run.")
    # moderation itself sends nothing: every e-mail is notifications' delivery task
    assert mail.outbox == []
    run_notification_tasks()
    assert _types_by_kind(creator.pk) == {
        "age_restrict": "moderation_limit", "remove": "moderation_removal",
        "strike": "moderation_account", "suspend": "moderation_account"}
    # the row says it in moderation's words, with the rule and the appeal
    suspended = next(n for n in inbox_of(creator.pk) if n.data["kind"] == "suspend")
    assert suspended.data["title"] == "Your account is suspended"
    assert suspended.data["appeal_path"].startswith("/moderation/appeal/")
    # e-mailed at once (not in the digest): removal, strike and suspension; the
    # age restriction (the video stays up) is e-mailed only if the person asks
    assert sorted(m.subject for m in mail.outbox) == [
        "SwipeMe: Your account is suspended", "SwipeMe: Your account received a strike",
        "SwipeMe: Your video was removed"]
    assert set(digests.email_types(creator.pk)).isdisjoint(types.MODERATION_TYPES)

    # the appeal's outcome is a type of its own, e-mailed to the suspended person
    web = Client()
    link = re.search(r"/moderation/appeal/[^/\s]+/", str(next(
        m for m in mail.outbox if "suspended" in m.subject).body))
    assert link is not None
    assert web.post(link.group(0), {"statement": "Not spam."}).status_code == 200
    senior = moderator("Senior moderators")
    appeal_case = Appeal.objects.get(action=suspension).case
    case_claim(case_id=appeal_case.pk, moderator=senior)
    case_decide(case_id=appeal_case.pk, moderator=senior, decision="uphold",
                reason="It was spam.")
    run_notification_tasks()
    assert _types_by_kind(creator.pk)["appeal_rejected"] == "appeal_decided"
    assert mail.outbox[-1].subject == "SwipeMe: Your appeal was reviewed"
    assert "It was spam." in str(mail.outbox[-1].body)


def test_account_notices_cannot_be_turned_off_a_removal_follows_the_preferences() -> None:
    post = PublishedPostFactory()
    creator = post.author
    for kind in (types.MODERATION_ACCOUNT, types.APPEAL_DECIDED):
        with pytest.raises(ApplicationError):
            notification_services.preferences_update(
                user=creator, channels={kind.name: {"in_app": False}})
    notification_services.preferences_update(
        user=creator, channels={"moderation_removal": {"in_app": False, "email": False}})
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Sells fake tickets.")
    enforce(action="strike", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Spam.")
    run_notification_tasks()
    assert [n.type for n in inbox_of(creator.pk)] == ["moderation_account"]
    assert [m.subject for m in mail.outbox] == ["SwipeMe: Your account received a strike"]
    # moderation's own record still lists the removal (the /notices page)
    assert set(Notice.objects.filter(user=creator).values_list("kind", flat=True)) == {
        "remove", "strike"}


def test_the_email_goes_once_even_if_delivery_runs_twice() -> None:
    user = UserFactory()
    enforce(action="ban", target_type="user", target_id=user.pk, policy="spam_scam",
            reason="Ban evasion.")
    run_notification_tasks()
    [row] = inbox_of(user.pk)
    assert row.type == "moderation_account"
    notification_services.notification_deliver(notification_id=row.pk, seq=row.seq)
    assert [m.subject for m in mail.outbox] == ["SwipeMe: Your account is banned"]
    body = str(mail.outbox[0].body)
    assert "/pages/community-guidelines/spam_scam/" in body
    assert re.search(r"You can appeal until \d{2} \w+ \d{4}: https?://\S+/moderation/appeal/"
                     r"[^/\s]+/", body)
    assert Delivery.objects.filter(notification=row, channel="email",
                                   status="sent").count() == 1


def test_one_read_state_the_inbox_row_and_the_notice_are_read_together(
        api_for: Any, web_for: Any) -> None:
    post = PublishedPostFactory()
    creator = post.author
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Sells fake tickets.")
    enforce(action="age_restrict", target_type="post", target_id=PublishedPostFactory(
        author=creator).pk, policy="violence_graphic", reason="Gore.")
    run_notification_tasks()
    api = api_for(creator)
    removal = Notification.objects.get(recipient=creator, type="moderation_removal")
    # read in the inbox: the old list says it is read too, the other notice is not
    assert api.post(f"/api/v1/notifications/{removal.pk}/read").status_code == 204
    listed = {n["kind"]: n["read_at"] for n in api.get("/api/v1/me/notices").json()["results"]}
    assert listed["remove"] is not None
    assert listed["age_restrict"] is None
    assert 'class="card notice-item unread"' in web_for(creator).get("/notices").content.decode()
    # ... and seeing /notices reads their inbox rows (the unread count goes to 0)
    assert api.get("/api/v1/notifications/unread_count").json()["unread"] == 0
    assert 'notice-item unread' not in web_for(creator).get("/notices").content.decode()
    # the old mark-read endpoint marks the inbox rows
    restricted = Notice.objects.get(user=creator, kind="age_restrict")
    Notification.objects.filter(recipient=creator).update(read_at=None)
    assert api.post("/api/v1/me/notices/read", {"ids": [str(restricted.pk)]},
                    format="json").json() == {"marked": 1}
    assert Notification.objects.get(type="moderation_limit").read_at is not None
    assert Notification.objects.get(type="moderation_removal").read_at is None
    assert not hasattr(Notice(), "read_at")  # no second read state


def test_reporters_are_told_what_came_of_their_reports(moderator: Any) -> None:
    post = PublishedPostFactory()
    other = PublishedPostFactory()
    first, second = UserFactory(), UserFactory()
    for reporter in (first, second):
        report_create(reporter=reporter, target_type="post", target_id=post.pk,
                      policy="spam_scam")
    report_create(reporter=first, target_type="post", target_id=other.pk,
                  policy="hate_harassment")
    mod = moderator()
    acted = Report.objects.get(reporter=first, target_id=post.pk).case
    case_claim(case_id=acted.pk, moderator=mod)
    case_decide(case_id=acted.pk, moderator=mod, decision="remove")
    cleared = Report.objects.get(reporter=first, target_id=other.pk).case
    case_claim(case_id=cleared.pk, moderator=mod)
    case_decide(case_id=cleared.pk, moderator=mod, decision="no_violation")
    run_notification_tasks()
    listed = api_for_list(first)
    assert [(n["type"], n["title"]) for n in listed] == [
        ("report_outcome", "We reviewed your report"),
        ("report_outcome", "We took action on your report")]
    assert "on Hate speech and harassment." in listed[0]["body"]
    assert "goes against our Community Guidelines on" in listed[1]["body"]
    assert listed[1]["url"] == "/pages/community-guidelines/spam_scam/"  # the rule reported
    assert [n.type for n in inbox_of(second.pk)] == ["report_outcome"]
    # quiet by default: in the inbox, not on the phone nor by e-mail
    assert not types.REPORT_OUTCOME.default(types.Channel.PUSH)
    assert not any("report" in m.subject for m in mail.outbox)
    # told once even if the hook's task runs again
    run_notification_tasks()
    assert len(inbox_of(second.pk)) == 1


def api_for_list(user: Any) -> list[dict[str, Any]]:
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(user)
    results: list[dict[str, Any]] = client.get("/api/v1/notifications").json()["results"]
    return results


def test_the_web_inbox_shows_a_notice_in_words_with_the_rule_and_the_appeal(
        web_for: Any) -> None:
    post = PublishedPostFactory()
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Sells fake tickets.")
    enforce(action="age_restrict", target_type="post", target_id=PublishedPostFactory(
        author=post.author).pk, policy="violence_graphic", reason="Gore.")
    run_notification_tasks()
    page = web_for(post.author).get("/inbox").content.decode()
    removal = page[page.index('data-type="moderation_removal"'):]
    removal = removal[:removal.index("</li>")]
    assert "Your video was removed" in removal
    assert "Sells fake tickets." in removal
    assert 'href="/pages/community-guidelines/spam_scam/"' in removal
    assert re.search(r'class="button secondary small" href="/moderation/appeal/[^"]+"', removal)
    limit = page[page.index('data-type="moderation_limit"'):]
    assert "Your video is age-restricted" in limit[:limit.index("</li>")]


def test_the_settings_page_says_which_notices_are_locked_and_which_go_by_email_at_once(
        web_for: Any) -> None:
    page: str = web_for(UserFactory()).get("/inbox/settings").content.decode()

    def row(type_name: str) -> str:
        start = page.index(f'<tr data-type="{type_name}">')
        return page[start:page.index("</tr>", start)]

    account = row("moderation_account")
    assert "Always on: they keep your account safe." in account
    assert account.count(" disabled") == 3
    removal = row("moderation_removal")
    assert "E-mailed at once, not in the digest." in removal
    assert " disabled" not in removal
    assert 'name="moderation_removal.email" id="pref-moderation_removal.email" ' \
        'aria-label="Removals of your videos, comments and sounds: E-mail" checked' \
        in removal
    assert "E-mailed at once" not in row("report_outcome")
