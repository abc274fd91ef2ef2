"""Reports of lives and of their chat messages, and the sampled-frame alerts. Moderation
never reads live's tables: live hands over a copy of the live as it was (`LiveCopy`: host,
title, state, the latest frame) and of the chat around the report (`LiveChatCopy`), kept
as `LiveEvidence` / `LiveChatEvidence`. Live cases go to the live queue (`conf.queue_for`),
a live on air at P1 or above.
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
from apps.moderation.models import (
    Case,
    LiveChatEvidence,
    LiveEvidence,
    Priority,
    Report,
    TargetType,
)
from apps.moderation.policies import Policy
from apps.moderation.services._common import _check_policy
from apps.moderation.services.cases import case_open_or_merge

ON_AIR_STATES = ("live", "reconnecting")
MAX_CHAT_COPIED = 60


@dataclass(frozen=True)
class LiveChatCopy:
    """One live chat message as live's table had it when the report was made."""

    message_id: int
    author_id: int | None
    author_username: str
    text: str
    sent_at: datetime
    hidden: str = ""  # live's reason when filters or a moderator hid it
    reported: bool = False


@dataclass(frozen=True)
class LiveCopy:
    """The live as it was: who hosts it, its title and state, its latest frame (JPEG)."""

    live_id: int
    host_id: int
    host_username: str
    title: str
    state: str
    frame: bytes | None = None
    frame_at: datetime | None = None
    chat: Sequence[LiveChatCopy] = field(default_factory=tuple)

    @property
    def on_air(self) -> bool:
        return self.state in ON_AIR_STATES


def _evidence_row(live: LiveCopy, *, source: str,
                  nudity: dict[str, Any] | None = None) -> LiveEvidence:
    return LiveEvidence.objects.create(
        source=source, live_id=live.live_id, host_id=live.host_id,
        host_username=live.host_username[:150], title=live.title[:100], state=live.state[:16],
        frame=live.frame, frame_at=live.frame_at, nudity=nudity or {})


def _chat_rows(evidence: LiveEvidence, chat: Sequence[LiveChatCopy]) -> None:
    ids = allocate_ids(len(chat))  # bulk_create cannot read back a db_default id
    LiveChatEvidence.objects.bulk_create([
        LiveChatEvidence(id=row_id, evidence=evidence, message_id=m.message_id,
                         author_id=m.author_id, author_username=m.author_username[:150],
                         text=m.text[:500], sent_at=m.sent_at, hidden=m.hidden[:16],
                         reported=m.reported)
        for row_id, m in zip(ids, chat, strict=True)])


def live_report_create(*, reporter: User, live: LiveCopy, policy: str, details: str = "",
                       message_id: int | None = None) -> Report:
    """A viewer's report of a live (or, with `message_id`, of one message of its chat): a
    case in the live queue on the live (or the message: its author answers for it), P1
    while the live is on air, with the copy kept as this report's evidence. Reports of the
    same live (message) merge into its open case."""
    _check_policy(policy)
    if len(live.chat) > MAX_CHAT_COPIED:
        raise ApplicationError("Too much chat for one report.", code="invalid_report")
    if message_id is not None:
        target = next((m for m in live.chat if m.message_id == message_id and m.reported), None)
        if target is None:
            raise ApplicationError("Choose the message you are reporting.",
                                   code="no_messages", fields={"message_id": ["Required."]})
        if target.author_id == reporter.pk:
            raise ApplicationError("You cannot report your own messages.", code="own_content")
        target_type, target_id = TargetType.LIVE_MESSAGE, message_id
    else:
        if live.host_id == reporter.pk:
            raise ApplicationError("You cannot report your own live.", code="own_content")
        target_type, target_id = TargetType.LIVE, live.live_id
    with transaction.atomic():
        # The copy first: the case's subject (the host, the author) is read from it.
        evidence = _evidence_row(live, source=LiveEvidence.Source.REPORT)
        _chat_rows(evidence, live.chat)
        case = case_open_or_merge(
            target_type=target_type, target_id=target_id, source=Case.Source.REPORT,
            policy=policy, reporter=reporter, reason=details.strip(),
            priority=Priority.HIGH if live.on_air or reporter.is_minor else Priority.NORMAL)
        report = Report.objects.get(case=case, reporter=reporter,
                                    outcome=Report.Outcome.PENDING)
        evidence.case, evidence.report = case, report
        evidence.save(update_fields=["case", "report"])
    return report


# What the case says of each image signal that can alert the live queue
# (`detection.services.frame_verdict`'s decision sources).
FRAME_REASONS = {
    "nudity": "A sampled frame of the live scored high on the nudity check.",
    "gore": "A sampled frame of the live scored high on the gore check.",
    "possible_minor": ("A sampled frame of the live shows a face with a sensitive score: a "
                       "possible minor. A moderator decides; nothing is done automatically."),
}
POSSIBLE_MINOR_LABEL = "Possible minor"


def live_frame_alert(*, live: LiveCopy, score: float, finding: dict[str, Any], priority: int,
                     policy: str = Policy.NUDITY_SEXUAL, signal: str = "nudity") -> Case:
    """The frame sampler's image signals scored a live's frame high (`signal`: nudity, gore
    or possible_minor, under `policy`): open (or raise) the live's case in the live queue
    with the frame kept beside it and the signal's evidence in the case."""
    with transaction.atomic():
        evidence = _evidence_row(live, source=LiveEvidence.Source.FRAMES, nudity=finding)
        box = finding.get("explicit_box") or {}
        label = (POSSIBLE_MINOR_LABEL if signal == "possible_minor"
                 else box.get("label", "") if signal == "nudity" else signal)
        case = case_open_or_merge(
            target_type=TargetType.LIVE, target_id=live.live_id,
            source=Case.Source.AUTOMATED, policy=policy, priority=priority,
            reason=FRAME_REASONS.get(signal, FRAME_REASONS["nudity"]),
            evidence={"signal": "live_frame", "source": signal, "score": round(score, 4),
                      "label": label, "frame_evidence": str(evidence.pk),
                      "frame_at": (live.frame_at or timezone.now()).isoformat(),
                      # gore, faces, possible_minor: top-level, as an upload's entry has them
                      **(finding.get("image") or {})})
        evidence.case = case
        evidence.save(update_fields=["case"])
    return case
