"""The one place detection calls the case and enforcement services of `apps.moderation`
(reports, cases and enforcement belong there). Imported lazily so the two halves of the
app load in any order."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def open_case(*, target_type: str, target_id: int, policy: str, evidence: dict[str, Any],
              reason: str, priority: int | None = None) -> object:
    """An automated case (merged into the target's open case if there is one)."""
    from apps.moderation import services

    extra: dict[str, Any] = {} if priority is None else {"priority": priority}
    return services.case_open_or_merge(
        target_type=target_type, target_id=target_id, source="automated", policy=policy,
        evidence=evidence, reason=reason[:500], **extra)


def enforce(*, action: str, target_type: str, target_id: int, policy: str, reason: str,
            case: Any = None) -> object:
    """An automated enforcement action (no human actor), audited by the enforcement
    service."""
    from apps.moderation import services

    return services.enforce(action=action, target_type=target_type, target_id=target_id,
                            policy=policy, reason=reason[:500], actor=None, case=case)


def message_refused(*, sender: Any, conversation_id: int, body: str, policy: str,
                    evidence: dict[str, Any]) -> object:
    """A refused direct message that must reach a person: kept as private evidence, with a
    case in the review queue (`moderation.services.message_refusal_escalate`)."""
    from apps.moderation import services

    return services.message_refusal_escalate(sender=sender, conversation_id=conversation_id,
                                             body=body, policy=policy, evidence=evidence)
