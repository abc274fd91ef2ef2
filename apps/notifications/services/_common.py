"""What the services modules share: the candidate of a notification."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Candidate:
    """One person to tell about one event, before the rules."""

    recipient_id: int
    type: str
    key: str  # the event's idempotency key, e.g. "post_liked:<user>:<post>"
    actor_id: int | None = None
    target_type: str = ""
    target_id: int | None = None
    group_key: str = ""  # same key within the type's window: one notification
    data: dict[str, Any] = field(default_factory=dict)
