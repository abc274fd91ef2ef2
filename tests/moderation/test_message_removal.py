"""A moderator removes a reported direct message (the "Remove message + strike" decision,
offered only on message cases): it becomes a tombstone for every member (API, inbox
preview, reply quotes, the live websocket), its reactions go, the sender is told which
message in a `moderation_removal` notification and may appeal; an appeal granted puts it
back (announced live). Moderation reaches messaging only through `message_hooks`, whose
messaging side takes the conversation's row lock: these run with transaction=True."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest
from asgiref.sync import sync_to_async
from django.db import connection, transaction
from django.test import TestCase

from apps.core.errors import ApplicationError
from apps.messaging import reporting, services
from apps.messaging.api.serializers import REMOVED_NOTICE
from apps.messaging.models import Conversation, Message, Reaction
from apps.moderation.models import AuditEvent, Case, EnforcementAction, Strike
from apps.moderation.services import (
    appeal_create,
    case_claim,
    case_decide,
    case_open_or_merge,
    decisions_for,
)
from tests.content.factories import PostFactory
from tests.messaging.helpers import client_for, friends, send
from tests.messaging.safety import person
from tests.messaging.test_live_ws import _messages, connected, ws_url  # noqa: F401
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks

pytestmark = pytest.mark.django_db(transaction=True)

BODY = "you are worthless and everyone knows it"


def _group_with_a_reported_message() -> tuple[Conversation, Message, Case, Any, Any, Any]:
    """sender, reporter and a third member; the third reacted to the reported message,
    the reporter replied to it."""
    sender, reporter, third = person(), person(), person()
    friends(sender, reporter)
    friends(sender, third)
    friends(reporter, third)
    with TestCase.captureOnCommitCallbacks(execute=True):
        group = services.create_group(sender, [reporter.pk, third.pk], "trio")
    send(sender, group, "hello all")
    bad = send(sender, group, BODY)
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.react(third, group.pk, bad.pk, emoji="😮")
    send(reporter, group, "that is not ok", reply_to_id=str(bad.pk))
    report = reporting.report_messages(reporter, group.pk, message_ids=[bad.pk],
                                       policy="hate_harassment", details="bullying")
    return group, bad, report.case, sender, reporter, third


def _decide(case: Case, moderator: Any, decision: str, reason: str = "") -> None:
    case_claim(case_id=case.pk, moderator=moderator)
    case_decide(case_id=case.pk, moderator=moderator, decision=decision, reason=reason)


def _thread(user: Any, conversation: Conversation) -> dict[str, dict[str, Any]]:
    page = client_for(user).get(f"/api/v1/conversations/{conversation.pk}/messages")
    assert page.status_code == 200
    return {m["id"]: m for m in page.json()["results"]}


def test_the_remove_message_decision_is_offered_only_on_message_cases(
        moderator: Any, web_for: Any) -> None:
    _, _, case, *_ = _group_with_a_reported_message()
    assert "remove_message" in [name for name, _ in decisions_for(case)]
    post_case = case_open_or_merge(target_type="post", target_id=PostFactory().pk,
                                   source="automated", policy="spam_scam")
    assert "remove_message" not in [name for name, _ in decisions_for(post_case)]
    mod = moderator()
    assert 'value="remove_message"' in web_for(mod).get(
        f"/moderation/cases/{case.pk}/").content.decode()
    assert 'value="remove_message"' not in web_for(mod).get(
        f"/moderation/cases/{post_case.pk}/").content.decode()
    # and the decision itself refuses a case that is not about a message
    case_claim(case_id=post_case.pk, moderator=mod)
    with pytest.raises(Exception, match="does not apply"):
        case_decide(case_id=post_case.pk, moderator=mod, decision="remove_message")


def test_removed_for_every_member_sender_told_and_a_granted_appeal_restores_it(
        moderator: Any, web_for: Any) -> None:
    group, bad, case, sender, reporter, third = _group_with_a_reported_message()
    mod = moderator()
    # through the review page's form, as a moderator decides
    web = web_for(mod)
    web.post(f"/moderation/cases/{case.pk}/claim")
    web.post(f"/moderation/cases/{case.pk}/decide",
             {"decision": "remove_message", "reason": "Bullying in a group."})
    case.refresh_from_db()
    assert (case.status, case.resolution) == (Case.Status.CLOSED, Case.Resolution.ACTIONED)

    for member in (sender, reporter, third):
        shown = _thread(member, group)
        gone = shown[str(bad.pk)]
        assert gone["state"] == "removed"
        assert gone["removed"] is True
        assert gone["notice"] == REMOVED_NOTICE
        assert (gone["body"], gone["mentions"], gone["reactions"]) == ("", [], [])
        assert gone["change_seq"] > gone["seq"]  # a change the members resume through
        reply = next(m for m in shown.values() if m["body"] == "that is not ok")
        assert reply["reply_to"]["body_preview"] == ""  # the quote is gone too
        assert BODY not in str(client_for(member).get("/api/v1/conversations").json())
    assert not Reaction.objects.filter(message=bad).exists()
    # the sender cannot unsend it (an appeal would have nothing to restore): told in words
    refused = client_for(sender).delete(f"/api/v1/conversations/{group.pk}/messages/{bad.pk}")
    assert refused.status_code == 400
    assert "appeal" in refused.json()["error"]["message"]

    removal = EnforcementAction.objects.get(case=case, action="remove")
    assert (removal.target_type, removal.target_id, removal.subject_id) == (
        "message", bad.pk, sender.pk)
    assert Strike.objects.filter(user=sender).count() == 1
    audited = AuditEvent.objects.filter(case=case)
    assert audited.filter(verb="enforce_remove", actor=mod, action=removal).exists()
    assert audited.filter(verb="case_decided", actor=mod).exists()

    run_notification_tasks()
    [told] = [n for n in inbox_of(sender.pk) if n.type == "moderation_removal"]
    assert told.data["title"] == "Your message was removed"
    assert f"“{BODY}”" in told.data["body"]  # it names the message
    assert "removed from the conversation for everyone" in told.data["body"]
    assert told.data["appeal_path"]
    notices = client_for(sender).get("/api/v1/me/notices").json()
    assert any(n.get("action_id") == str(removal.pk) for n in notices["results"])
    page = web_for(sender).get("/notices")  # the notices page, as for a removed video
    assert page.status_code == 200
    assert "Your message was removed" in page.content.decode()
    assert BODY in page.content.decode()
    assert "/moderation/appeal/" in page.content.decode()

    # the sender appeals; a different moderator grants it: the message is back
    appealed = client_for(sender).post("/api/v1/appeals",
                                       {"action_id": str(removal.pk), "statement": "Joke."},
                                       format="json")
    assert appealed.status_code == 201, appealed.content
    appeal_case = Case.objects.get(kind=Case.Kind.APPEAL, appealed_action=removal)
    _decide(appeal_case, moderator("Appeals reviewers"), "overturn", "Context: banter.")
    for member in (sender, reporter, third):
        back = _thread(member, group)[str(bad.pk)]
        assert (back["state"], back["removed"], back["body"]) == ("visible", False, BODY)
        assert back["notice"] is None
    assert not Strike.objects.filter(user=sender, removed_at__isnull=True).exists()
    run_notification_tasks()
    granted = [n for n in inbox_of(sender.pk) if n.data.get("kind") == "appeal_granted"]
    assert len(granted) == 1


def test_removal_and_restore_reach_the_members_live(ws_url: str,  # noqa: F811
                                                    moderator: Any) -> None:
    group, bad, case, sender, _reporter, third = _group_with_a_reported_message()
    mod, reviewer = moderator(), moderator("Appeals reviewers")

    def remove() -> None:
        _decide(case, mod, "remove_message", "Bullying.")

    def restore() -> None:
        removal = EnforcementAction.objects.get(case=case, action="remove")
        appeal = appeal_create(user=sender, action_id=removal.pk)
        _decide(appeal.case, reviewer, "overturn", "Banter.")

    async def run() -> None:
        async with connected(ws_url, third) as carol, connected(ws_url, sender) as sam:
            _, upto = await carol.subscribe(group)
            await sam.subscribe(group)
            await sync_to_async(remove)()
            for socket in (carol, sam):
                changed = [m for m in _messages(await socket.quiet())
                           if m["message"]["id"] == str(bad.pk)]
                assert len(changed) == 1
                payload = changed[0]["message"]
                assert (payload["state"], payload["body"], payload["reactions"]) == (
                    "removed", "", [])
                assert payload["notice"] == REMOVED_NOTICE
                assert changed[0]["change_seq"] > upto["upto"]
            await sync_to_async(restore)()
            for socket in (carol, sam):
                back = [m["message"] for m in _messages(await socket.quiet())
                        if m["message"]["id"] == str(bad.pk)]
                assert [(m["state"], m["body"]) for m in back] == [("visible", BODY)]

    asyncio.run(run())


def test_a_message_unsent_before_the_decision_is_not_brought_back(moderator: Any) -> None:
    """The hook answers that there was nothing to take down; the decision still stands on
    the account, and a restore does not resurrect the unsent message."""
    group, bad, case, sender, *_ = _group_with_a_reported_message()
    with TestCase.captureOnCommitCallbacks(execute=True):
        services.unsend_message(sender, group.pk, bad.pk)
    _decide(case, moderator(), "remove_message")
    removal = EnforcementAction.objects.get(case=case, action="remove")
    assert AuditEvent.objects.get(verb="enforce_remove", action=removal).data["applied"] is False
    assert services.restore_by_moderation(message_id=bad.pk) is False
    bad.refresh_from_db()
    assert (bad.state, bad.body) == (Message.State.UNSENT, "")


def _while_a_removal_holds_the_lock(message: Message, call: Any) -> dict[str, str]:
    """Run `call` while a removal of `message` holds the conversation's lock: `call` reads
    the message as visible, waits for the lock, then goes on after the removal commits."""
    holding, release = threading.Event(), threading.Event()
    outcome: dict[str, str] = {}

    def remove() -> None:
        try:
            with transaction.atomic():
                outcome["removed"] = str(services.remove_by_moderation(message_id=message.pk))
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    def other() -> None:
        try:
            call()
            outcome["call"] = "done"
        except ApplicationError as exc:
            outcome["call"], outcome["words"] = exc.code, exc.message
        finally:
            connection.close()

    remover = threading.Thread(target=remove)
    remover.start()
    assert holding.wait(30)
    caller = threading.Thread(target=other)
    caller.start()
    caller.join(1.5)
    assert caller.is_alive()  # waiting for the conversation's lock
    release.set()
    remover.join(30)
    caller.join(30)
    assert outcome["removed"] == "True"
    return outcome


def test_an_unsend_racing_a_removal_keeps_what_an_appeal_puts_back() -> None:
    """The unsend is refused in words (before, it wiped the text the appeal restores)."""
    group, bad, _case, sender, *_ = _group_with_a_reported_message()
    outcome = _while_a_removal_holds_the_lock(
        bad, lambda: services.unsend_message(sender, group.pk, bad.pk))
    assert outcome["call"] == "removed_by_moderation"
    assert "appeal" in outcome["words"]
    bad.refresh_from_db()
    assert (bad.state, bad.body) == (Message.State.REMOVED, BODY)


def test_an_edit_racing_a_removal_does_not_change_what_was_removed() -> None:
    """The edit is refused (before, it rewrote the removed text, which an appeal granted
    would then have shown unreviewed)."""
    group, bad, _case, sender, *_ = _group_with_a_reported_message()
    outcome = _while_a_removal_holds_the_lock(
        bad, lambda: services.edit_message(sender, group.pk, bad.pk, body="sneaky rewrite"))
    assert outcome["call"] == "not_editable"
    bad.refresh_from_db()
    assert (bad.state, bad.body, bad.edited_at) == (Message.State.REMOVED, BODY, None)


def test_one_removal_takes_down_every_message_of_that_sender_the_report_pointed_at(
        moderator: Any) -> None:
    """A reporter who picks three of a sender's messages (and one of someone else's) gets
    one case; removing it takes down the sender's three, not the other person's, tells
    the sender how many, and a granted appeal puts all three back."""
    sender, reporter, third = person(), person(), person()
    friends(sender, reporter)
    friends(sender, third)
    friends(reporter, third)
    with TestCase.captureOnCommitCallbacks(execute=True):
        group = services.create_group(sender, [reporter.pk, third.pk], "trio")
    bad = send(sender, group, BODY)
    second = send(sender, group, "and another insult")
    third_says = send(third, group, "stop it both of you")
    fourth = send(sender, group, "last word, loser")
    report = reporting.report_messages(
        reporter, group.pk, message_ids=[bad.pk, second.pk, third_says.pk, fourth.pk],
        policy="hate_harassment")
    case = report.case
    assert case.target_id == bad.pk  # the earliest reported message names the case
    _decide(case, moderator(), "remove_message", "A run of insults.")
    states = dict(Message.objects.filter(pk__in=[bad.pk, second.pk, third_says.pk, fourth.pk])
                  .values_list("pk", "state"))
    assert states == {bad.pk: "removed", second.pk: "removed", fourth.pk: "removed",
                      third_says.pk: "visible"}  # each answers for their own messages
    removal = EnforcementAction.objects.get(case=case, action="remove")
    assert sorted(removal.detail["message_ids"]) == sorted(
        str(m.pk) for m in (bad, second, fourth))

    run_notification_tasks()
    [told] = [n for n in inbox_of(sender.pk) if n.type == "moderation_removal"]
    assert "2 other messages of yours reported with it" in told.data["body"]

    appeal = appeal_create(user=sender, action_id=removal.pk)
    _decide(appeal.case, moderator("Appeals reviewers"), "overturn", "Banter.")
    assert set(Message.objects.filter(pk__in=[bad.pk, second.pk, fourth.pk])
               .values_list("state", flat=True)) == {"visible"}
