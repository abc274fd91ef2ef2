"""A reported direct message on the review page: the moderator sees the copies the report
kept (the reported messages and the few around each) and nothing else of the
conversation; each look is audited; the decision reaches the sender (a strike) and the
reporter (report_outcome)."""

from __future__ import annotations

from typing import Any

import pytest

from apps.messaging import reporting
from apps.moderation.models import AuditEvent, Case, Strike
from apps.moderation.services import case_claim, case_decide, decisions_for
from apps.notifications.services.texts import report_outcome_text
from tests.messaging.helpers import direct, send
from tests.messaging.safety import person
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks

pytestmark = pytest.mark.django_db(transaction=True)


def _reported_case(n: int = 15, at: int = 7) -> tuple[Case, Any, Any]:
    sender, reporter = person(), person()
    conversation = direct(sender, reporter)
    messages = [send(sender if i % 2 else reporter, conversation, f"line-{i:02d}")
                for i in range(1, n + 1)]
    report = reporting.report_messages(reporter, conversation.pk,
                                       message_ids=[messages[at - 1].pk],
                                       policy="hate_harassment", details="he keeps at it")
    return report.case, sender, reporter


def test_the_review_page_shows_the_reported_message_with_context_and_nothing_else(
        moderator: Any, web_for: Any) -> None:
    case, sender, reporter = _reported_case()
    mod = moderator()
    page = web_for(mod).get(f"/moderation/cases/{case.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Reported messages" in html
    assert "he keeps at it" in html
    shown = [f"line-{i:02d}" for i in range(1, 16) if f"line-{i:02d}" in html]
    assert shown == [f"line-{i:02d}" for i in range(4, 11)]  # 3 either side of line-07
    assert html.count('class="dm-msg reported"') == 1
    assert f"@{sender.username}" in html
    assert f"@{reporter.username}" in html
    # looking at someone's private messages is on the audit trail, with who looked
    looked = AuditEvent.objects.filter(verb="message_evidence_viewed", case=case)
    assert list(looked.values_list("actor_id", flat=True)) == [mod.pk]


def test_a_message_case_is_decided_on_the_account_and_the_reporter_is_told(
        moderator: Any) -> None:
    case, sender, reporter = _reported_case(n=4, at=3)
    assert "remove" not in [name for name, _ in decisions_for(case)]
    mod = moderator()
    case_claim(case_id=case.pk, moderator=mod)
    case_decide(case_id=case.pk, moderator=mod, decision="strike", reason="Harassment.")
    assert Strike.objects.filter(user=sender).count() == 1
    verbs = set(AuditEvent.objects.filter(case=case).values_list("verb", flat=True))
    assert {"case_opened", "case_claimed", "enforce_strike", "case_decided"} <= verbs
    run_notification_tasks()
    told = [n for n in inbox_of(reporter.pk) if n.type == "report_outcome"]
    assert len(told) == 1
    title, body = report_outcome_text(told[0].data)
    assert title == "We took action on your report"
    assert body.startswith("The message you reported goes against")
