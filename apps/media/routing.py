"""Which queue an asset's work goes to, and how much waits there.

User uploads and bulk work (backfill, reprocessing, the demo catalogue) have their own
queues and their own workers (`runstack`, docker/compose.yaml), so a person's upload never
waits behind a thousand catalogue transcodes. The asset carries its priority; the Celery
router below reads it for every task that names an asset, however the task is sent
(`.delay`, `send_task`, a relayed outbox row)."""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.conf import settings

from apps.media.models import MediaAsset

logger = logging.getLogger(__name__)

# Tasks whose first argument is an asset id.
ASSET_TASKS = frozenset({
    "apps.media.process_asset", "apps.media.run_step", "apps.media.reprocess",
    "apps.media.recipe_changed",
})
# Steps that are bulk work whoever uploaded the asset: the AV1 renditions of a popular post
# (apps.media.av1) never wait in front of, or take a worker from, a person's upload.
BULK_STEPS = frozenset({"av1"})


def queue_for(priority: str) -> str:
    if priority == MediaAsset.Priority.BULK:
        return str(settings.MEDIA_QUEUE_BULK)
    return str(settings.MEDIA_QUEUE_USER)


def route_asset_task(
    name: str, args: Any, kwargs: Any, options: Any, task: Any = None, **_: Any
) -> dict[str, str] | None:
    """Celery router (CELERY_TASK_ROUTES): an asset's task to its priority's queue; any
    other task falls through to the next router."""
    if name not in ASSET_TASKS:
        return None
    asset_id = args[0] if args else (kwargs or {}).get("asset_id")
    if asset_id is None:
        return None
    step = args[1] if len(args or ()) > 1 else (kwargs or {}).get("name")
    if name == "apps.media.run_step" and step in BULK_STEPS:
        return {"queue": queue_for(MediaAsset.Priority.BULK)}
    try:
        priority = MediaAsset.objects.filter(pk=int(asset_id)).values_list(
            "priority", flat=True).first()
    except Exception:  # the database is down: the user queue, never lost
        logger.warning("media: cannot read an asset's priority", exc_info=True)
        priority = None
    return {"queue": queue_for(priority or MediaAsset.Priority.USER)}


def messages_waiting(queue: str) -> int:
    """Messages in the broker waiting for a worker of `queue` (not those a worker has
    already taken). A queue the broker does not know has none."""
    with current_app.connection_for_read() as connection:
        try:
            declared = connection.default_channel.queue_declare(queue=queue, passive=True)
        except connection.channel_errors:
            return 0
        return int(declared.message_count)
