"""Texts refused before they were stored (a direct message; messaging calls this after
its refusing transaction rolled back, so the record survives the refusal).

- Sexual content involving a minor, and threats, are escalated: the text is kept as
  private evidence and a case opens in the review queue (never only a refusal).
- Every refusal is recorded (`TextRefusal`) and counts toward the sender's risk: the spam
  signal adds recent refusals, and `REFUSALS_FOR_CASE` of them within a day open a case
  on the account."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from apps.accounts.models import User
from apps.moderation.detection import cases
from apps.moderation.detection.models import Surface, TextRefusal
from apps.moderation.policies import Policy

ESCALATED_POLICIES = frozenset({Policy.MINOR_SAFETY, Policy.VIOLENCE_GRAPHIC})
REFUSAL_WINDOW = timedelta(hours=24)
REFUSALS_FOR_CASE = 5
# each recent refusal's weight in the spam signal's noisy-OR (capped): refusals alone reach
# "limit reach" (0.6) from four, never "review"
REFUSAL_WEIGHT = 0.2
REFUSAL_CAP = 0.6


def text_refusal_record(
    *,
    user: User,
    surface: str,
    policy: str,
    signal: str,
    content: str,
    conversation_id: int | None = None,
    language: str = "",
    scores: dict[str, Any] | None = None,
) -> TextRefusal:
    """Record one refused text; escalate what must reach a person. Returns the record."""
    escalate = policy in ESCALATED_POLICIES and surface == Surface.MESSAGE
    with transaction.atomic():
        refusal = TextRefusal.objects.create(
            user=user, surface=surface, policy=policy, signal=signal[:40], escalated=escalate
        )
        evidence: dict[str, Any] = {
            "source": "detection",
            "outcome": "block",
            "refused": surface,
            "decisions": [{"policy": policy, "source": signal, "outcome": "block"}],
            "text": content[:1000],
            "language": language,
            "scores": scores or {},
        }
        if escalate:
            cases.message_refused(
                sender=user,
                conversation_id=conversation_id or 0,
                body=content,
                policy=policy,
                evidence=evidence,
            )
            return refusal
        recent = recent_refusals(user_id=user.pk)
        if recent == REFUSALS_FOR_CASE:  # once, when the count reaches it
            cases.open_case(
                target_type="user",
                target_id=user.pk,
                policy=policy or Policy.SPAM_SCAM,
                evidence={**evidence, "refusals": recent},
                reason=f"{recent} texts refused within a day.",
            )
    return refusal


def recent_refusal_rows(*, user_id: int, now: datetime | None = None) -> QuerySet[TextRefusal]:
    since = (now or timezone.now()) - REFUSAL_WINDOW
    return TextRefusal.objects.filter(user_id=user_id, created_at__gte=since)


def recent_refusals(*, user_id: int) -> int:
    return recent_refusal_rows(user_id=user_id).count()


def refusal_weight(count: int) -> float:
    """The weight of `count` recent refusals in the spam signal."""
    return min(REFUSAL_CAP, REFUSAL_WEIGHT * count)


def refusal_risk(*, user_id: int) -> tuple[int, float]:
    """(recent refusals, their weight in the spam signal)."""
    count = recent_refusals(user_id=user_id)
    return count, refusal_weight(count)
