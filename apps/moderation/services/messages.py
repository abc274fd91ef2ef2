"""Reports of direct messages. Moderation never reads messaging's tables: the messaging app
hands over copies of the reported messages and the few around each (`MessageCopy`), which
are kept as the report's evidence (`MessageEvidence`). That copy is all a moderator ever
sees of the conversation, and each look at it is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.core.ids import allocate_ids
from apps.moderation.models import Case, MessageEvidence, Priority, Report, TargetType
from apps.moderation.services._common import _audit, _check_policy
from apps.moderation.services.cases import case_open_or_merge

MAX_COPIED = 200  # reported messages and their context, per report


@dataclass(frozen=True)
class MessageCopy:
    """One direct message as the reporter's conversation showed it."""

    message_id: int
    conversation_id: int
    seq: int | None
    sender_id: int | None
    sender_username: str
    kind: str
    body: str
    sent_at: datetime
    reported: bool = False  # pointed at by the reporter (else context)
    attachment: dict[str, Any] = field(default_factory=dict)


def message_report_create(*, reporter: User, messages: Sequence[MessageCopy], policy: str,
                          details: str = "") -> Report:
    """A participant's report of messages in one conversation: a review case on the first
    reported message (reports of the same message merge into its case), with the copies
    kept as this report's evidence. A minor's report is urgent-ish (P1)."""
    _check_policy(policy)
    reported = sorted((m for m in messages if m.reported),
                      key=lambda m: (m.seq is None, m.seq or 0, m.message_id))
    if not reported:
        raise ApplicationError("Choose the messages you are reporting.",
                               code="no_messages", fields={"message_ids": ["Required."]})
    if any(m.sender_id == reporter.pk for m in reported):
        raise ApplicationError("You cannot report your own messages.", code="own_content")
    if len({m.conversation_id for m in messages}) != 1 or len(messages) > MAX_COPIED:
        raise ApplicationError("Report messages of one conversation at a time.",
                               code="invalid_report")
    target = reported[0]
    with transaction.atomic():
        # The copies first: the case's subject (the target's sender) is read from them.
        ids = allocate_ids(len(messages))  # bulk_create cannot read back a db_default id
        MessageEvidence.objects.bulk_create([
            MessageEvidence(id=row_id, message_id=m.message_id, conversation_id=m.conversation_id,
                            seq=m.seq, sender_id=m.sender_id,
                            sender_username=m.sender_username[:150], kind=m.kind[:8],
                            body=m.body, attachment=m.attachment, sent_at=m.sent_at,
                            reported=m.reported)
            for row_id, m in zip(ids, messages, strict=True)])
        case = case_open_or_merge(
            target_type=TargetType.MESSAGE, target_id=target.message_id,
            source=Case.Source.REPORT, policy=policy, reporter=reporter,
            reason=details.strip(),
            priority=Priority.HIGH if reporter.is_minor else Priority.NORMAL)
        report = Report.objects.get(case=case, reporter=reporter,
                                    outcome=Report.Outcome.PENDING)
        MessageEvidence.objects.filter(pk__in=ids).update(report=report)
    return report


def message_evidence_viewed(*, case: Case, moderator: User) -> None:
    """A moderator opened the copies of someone's private messages: on the audit trail."""
    if case.target_type == TargetType.MESSAGE:
        _audit("message_evidence_viewed", actor=moderator, case=case)


def message_refusal_escalate(*, sender: User, conversation_id: int, body: str, policy: str,
                             evidence: dict[str, Any], priority: int = Priority.HIGH) -> Case:
    """A direct message refused before it was sent, for what must reach a person (sexual
    content involving a minor, a threat): its text is kept as private evidence (a
    `MessageEvidence` row under an id of its own: the message was never stored) and a case
    opens in the review queue. Each look at it is audited like a reported message's."""
    _check_policy(policy)
    with transaction.atomic():
        (row_id,) = allocate_ids(1)
        MessageEvidence.objects.create(
            id=row_id, message_id=row_id, conversation_id=conversation_id, seq=None,
            sender_id=sender.pk, sender_username=sender.username[:150], kind="text",
            body=body, attachment={"state": "refused"}, sent_at=timezone.now(),
            reported=True)
        return case_open_or_merge(
            target_type=TargetType.MESSAGE, target_id=row_id, source=Case.Source.AUTOMATED,
            policy=policy, priority=priority,
            evidence={**evidence, "message_evidence_id": str(row_id)},
            reason="A direct message was refused before it was sent.")
