"""`POST /api/v1/conversations/{id}/report`: a moderation case whose evidence is a copy of
the reported messages and the few around each, as the reporter saw them; only
participants may report; the reporter may block in the same step."""

from __future__ import annotations

from typing import Any

import pytest

from apps.messaging import reporting, selectors, services
from apps.messaging.models import Conversation, Message
from apps.moderation.models import Case, MessageEvidence, Report
from apps.social.models import Block
from tests.messaging.helpers import client_for, direct, friends, send
from tests.messaging.safety import person

pytestmark = pytest.mark.django_db(transaction=True)


def _thread(a: Any, b: Any, n: int = 12) -> tuple[Conversation, list[Message]]:
    """n messages, a and b in turn: word-01 (from a), word-02 (from b), ..."""
    conversation = direct(a, b)
    return conversation, [send(a if i % 2 else b, conversation, f"word-{i:02d}")
                          for i in range(1, n + 1)]


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert body["error"]["message"]
    error: dict[str, Any] = body["error"]
    return error


def _report(user: Any, conversation_id: int, **data: Any) -> Any:
    return client_for(user).post(f"/api/v1/conversations/{conversation_id}/report",
                                 {"policy": "hate_harassment", **data}, format="json")


def test_a_report_keeps_the_reported_message_and_the_few_around_it() -> None:
    a, b = person(), person()
    conversation, messages = _thread(a, b)
    reported = messages[6]  # word-07, from a, seq 7
    response = _report(b, conversation.pk, message_ids=[str(reported.pk)],
                       details="threatening me")
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["target_type"], body["target_id"]) == ("message", str(reported.pk))
    report = Report.objects.get(pk=body["id"])
    assert report.reporter_id == b.pk
    assert report.case.subject_id == a.pk  # the sender answers for it
    assert report.case.target_type == "message"
    copies = list(MessageEvidence.objects.filter(report=report).order_by("seq"))
    window = range(7 - reporting.CONTEXT_AROUND, 7 + reporting.CONTEXT_AROUND + 1)
    assert [c.seq for c in copies] == list(window)
    assert [c.body for c in copies if c.reported] == ["word-07"]
    assert {c.sender_id for c in copies} == {a.pk, b.pk}
    assert all(c.conversation_id == conversation.pk for c in copies)


def test_the_copy_is_what_the_reporter_saw() -> None:
    a, b = person(), person()
    conversation, messages = _thread(a, b)
    services.clear_chat(b, conversation.pk)  # b deleted the chat for themselves ...
    after = [send(a, conversation, f"later-{i}") for i in range(3)]  # seqs 13-15
    response = _report(b, conversation.pk, message_ids=[str(after[0].pk)])
    assert response.status_code == 201, response.content
    copied = set(MessageEvidence.objects.values_list("body", flat=True))
    assert copied == {"later-0", "later-1", "later-2"}  # ... nothing from before it
    # a message b no longer sees cannot be reported
    _error(_report(b, conversation.pk, message_ids=[str(messages[0].pk)]), 404)


def test_reporting_the_conversation_takes_the_others_latest_messages() -> None:
    a, b = person(), person()
    conversation, _ = _thread(a, b)
    response = _report(b, conversation.pk)
    assert response.status_code == 201, response.content
    reported = set(MessageEvidence.objects.filter(reported=True).values_list("body", flat=True))
    assert reported == {"word-11", "word-09", "word-07", "word-05", "word-03"}


def test_report_and_block_in_one_step() -> None:
    a, b = person(), person()
    conversation, messages = _thread(a, b, n=4)
    response = _report(b, conversation.pk, message_ids=[str(messages[0].pk)], block=True)
    assert response.status_code == 201, response.content
    assert Block.objects.filter(blocker=b, blocked=a).exists()
    seen = selectors.messages_for(selectors.participant_for(b, conversation.pk))
    assert {m.sender_id for m in seen} == {b.pk}


def test_only_participants_report_and_only_what_others_sent() -> None:
    a, b, outsider = person(), person(), person()
    conversation, messages = _thread(a, b, n=4)
    mine, theirs = messages[1], messages[0]  # word-02 by b, word-01 by a
    assert _error(_report(outsider, conversation.pk, message_ids=[str(theirs.pk)]),
                  404)["code"] == "not_found"
    _error(_report(b, conversation.pk, message_ids=[str(mine.pk)]), 400)
    _error(_report(b, conversation.pk, message_ids=["nope"]), 400)
    _error(_report(b, conversation.pk, message_ids=[str(theirs.pk)], policy="nope"), 400)
    services.unsend_message(a, conversation.pk, theirs.pk)
    assert "unsent" in _error(_report(b, conversation.pk, message_ids=[str(theirs.pk)]),
                              400)["message"]
    _, others = _thread(outsider, a, n=2)
    _error(_report(b, conversation.pk, message_ids=[str(others[0].pk)]), 404)
    assert not Report.objects.exists()
    assert not MessageEvidence.objects.exists()


def test_a_removed_member_cannot_report() -> None:
    admin, a, b = person(), person(), person()
    friends(admin, a)
    friends(admin, b)
    group = services.create_group(admin, [a.pk, b.pk], "crew")
    message = send(a, group, "hello crew")
    services.remove_member(admin, group.pk, b.pk)
    _error(_report(b, group.pk, message_ids=[str(message.pk)]), 404)
    assert _report(admin, group.pk, message_ids=[str(message.pk)]).status_code == 201


def test_the_same_message_reported_twice_by_one_person_is_a_conflict() -> None:
    a, b = person(), person()
    conversation, messages = _thread(a, b, n=4)
    first = _report(b, conversation.pk, message_ids=[str(messages[2].pk)])
    assert first.status_code == 201, first.content
    assert _error(_report(b, conversation.pk, message_ids=[str(messages[2].pk)]),
                  409)["code"] == "already_reported"
    assert MessageEvidence.objects.count() == 4  # the refused report kept no copy
    assert Case.objects.count() == 1
