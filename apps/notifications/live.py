"""Live delivery (issue 14, "Delivery → Live"): after a commit the writers announce to the
recipient's channel-layer group that a notification state (its id and seq) exists or that
the read state changed; `consumers.NotificationConsumer` reads the row back and sends it in
the inbox API's shape. The announcement carries no content, so a fan-out to people who are
not connected costs one cheap group_send each and no serialisation.

Best effort: PostgreSQL is the record and a reconnecting client resumes from its last seq,
so a Redis outage must not fail or slow the notification write (the Redis breaker, a short
timeout, errors logged and swallowed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from apps.core import redis_health
from apps.notifications.models import Notification

logger = logging.getLogger(__name__)

# Per group_send (channels_redis itself would wait 5 s on a hung Redis).
SEND_TIMEOUT_SECONDS = 0.25


def user_group(user_id: int) -> str:
    return f"notifications.user.{user_id}"


async def _send_all(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    for group, message in messages:
        await asyncio.wait_for(layer.group_send(group, message), SEND_TIMEOUT_SECONDS)


def _send_on_commit(messages: list[tuple[str, dict[str, Any]]]) -> None:
    def send() -> None:
        layer = get_channel_layer()
        if layer is None or not messages:
            return
        try:
            with redis_health.breaker().guard():
                async_to_sync(_send_all)(layer, messages)
        except Exception:  # best effort: the client resumes from PostgreSQL
            logger.warning("notifications: live announcement failed", exc_info=True)

    transaction.on_commit(send)


def announce_on_commit(rows: Sequence[Notification]) -> None:
    """Each new or grown notification state, to its recipient, once the write commits."""
    _send_on_commit([
        (user_group(row.recipient_id),
         {"type": "notification.new", "id": str(row.pk), "seq": row.seq})
        for row in rows])


def unread_changed_on_commit(user_id: int) -> None:
    """The person read something: their connections send the new unread count."""
    _send_on_commit([(user_group(user_id), {"type": "notification.unread"})])
