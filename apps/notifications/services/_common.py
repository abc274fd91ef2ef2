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
    # A key of `data` holding the event's position (e.g. a message's id): a grown
    # notification shows the latest event's data whatever order the events are handled in
    # (two workers told "2 messages" with the first one's excerpt). "" = handling order.
    order_key: str = ""


def position(data: dict[str, Any], key: str) -> int:
    """The event position `data[key]` (an id, as a string or an int); 0 when absent."""
    try:
        return int(data.get(key) or 0)
    except (TypeError, ValueError):
        return 0
