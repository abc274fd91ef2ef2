"""Live delivery (issue 14, "Delivery → Live"): after a commit the writers announce each
new or grown notification state to its recipient's channel-layer group, self-contained:
the item in the inbox API's shape and the recipient's unread count, built once per batch
(`selectors.lines_of`, `selectors.unread_counts_of`: a bounded number of queries however
many recipients, with the inbox's rules), so `consumers.NotificationConsumer` sends it
without a query (5,000 connected followers of a new post cost one batch of reads, not
five queries each on the server's single database thread). Read-state changes are
announced bare (the consumer counts).

The announcements of a batch go together (`apps.core.channel_layer.group_send_many`: a
few Redis round trips for the batch; one group_send at a time, 5,000 announcements of
four round trips each took tens of seconds).

Best effort: PostgreSQL is the record and a reconnecting client resumes from its last seq,
so a Redis outage must not fail or slow the notification write (the Redis breaker, a
short deadline, errors logged and swallowed)."""

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

# The bound of a batch's sends (channels_redis itself would wait 5 s on a hung Redis): this
# plus a little per message through the layer's group_send_many; with another layer, per
# group_send, SEND_CONCURRENCY at a time (under its pool, CHANNEL_LAYER_HOST).
SEND_TIMEOUT_SECONDS = 0.25
SEND_TIMEOUT_PER_MESSAGE = 0.001
SEND_CONCURRENCY = 50


def user_group(user_id: int) -> str:
    return f"notifications.user.{user_id}"


async def _send_all(layer: Any, messages: list[tuple[str, dict[str, Any]]]) -> None:
    send_many = getattr(layer, "group_send_many", None)
    if send_many is not None:  # apps.core.channel_layer: a few round trips for them all
        await asyncio.wait_for(send_many(messages),
                               SEND_TIMEOUT_SECONDS + len(messages) * SEND_TIMEOUT_PER_MESSAGE)
        return
    gate = asyncio.Semaphore(SEND_CONCURRENCY)

    async def one(group: str, message: dict[str, Any]) -> None:
        async with gate:
            await asyncio.wait_for(layer.group_send(group, message), SEND_TIMEOUT_SECONDS)

    # the first send that fails or times out (Redis down or hung) cancels the rest
    async with asyncio.TaskGroup() as sends:
        for group, message in messages:
            sends.create_task(one(group, message))


def send_to_groups(messages: list[tuple[str, dict[str, Any]]]) -> None:
    """Best-effort group sends in one batch (messaging's live delivery uses it too)."""
    layer = get_channel_layer()
    if layer is None or not messages:
        return
    try:
        with redis_health.breaker().guard():
            async_to_sync(_send_all)(layer, messages)
    except Exception:  # best effort: the client resumes from PostgreSQL
        logger.warning("live announcement failed", exc_info=True)


def _send_on_commit(messages: list[tuple[str, dict[str, Any]]]) -> None:
    transaction.on_commit(lambda: send_to_groups(messages))


def announcements(rows: Sequence[Notification]) -> list[tuple[str, dict[str, Any]]]:
    """(group, message) for each state: the item as the inbox API shows it and the
    recipient's unread count, read after the commit."""
    from apps.notifications import selectors
    from apps.notifications.api.views import NotificationSerializer  # it imports services

    rows = list(rows)
    items = NotificationSerializer(selectors.lines_of(rows), many=True).data
    unread = selectors.unread_counts_of(row.recipient_id for row in rows)
    return [(user_group(row.recipient_id),
             {"type": "notification.new", "id": str(row.pk), "seq": row.seq,
              "item": dict(item), "unread_count": unread[row.recipient_id]})
            for row, item in zip(rows, items, strict=True)]


def announce(rows: Sequence[Notification]) -> None:
    """Announce committed states now (a delivery task's batch)."""
    if not rows:
        return
    try:
        messages = announcements(rows)
    except Exception:  # the items could not be built: bare announcements, read back
        logger.warning("notifications: live items failed", exc_info=True)
        messages = [(user_group(row.recipient_id),
                     {"type": "notification.new", "id": str(row.pk), "seq": row.seq})
                    for row in rows]
    send_to_groups(messages)


def announce_on_commit(rows: Sequence[Notification]) -> None:
    """Each new or grown notification state, to its recipient, once the write commits."""
    rows = list(rows)
    transaction.on_commit(lambda: announce(rows))


def unread_changed_on_commit(user_id: int) -> None:
    """The person read something: their connections send the new unread count."""
    _send_on_commit([(user_group(user_id), {"type": "notification.unread"})])
