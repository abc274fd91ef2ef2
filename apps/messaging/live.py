"""Real-time delivery of direct messages (issue 15, "Delivery"): the services call these
after their transaction commits (`transaction.on_commit`).

Being filled in: the bodies announce to the channel-layer groups of `consumers`."""

from __future__ import annotations

from collections.abc import Iterable

from apps.messaging.models import Message, Participant


def message_changed(message: Message) -> None:
    """A message appeared or changed (edit, unsend, reaction, delivered after its checks)."""


def read_moved(participant: Participant) -> None:
    """A member's last-read seq moved."""


def inbox_changed(user_ids: Iterable[int], conversation_id: int) -> None:
    """These people's inbox row of the conversation changed (unread, preview, membership)."""
