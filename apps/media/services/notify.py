"""Telling the owner: the asset's status over the websocket, and running higher apps'
hooks after commit.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

from apps.core import redis_health
from apps.media import selectors
from apps.media.models import MediaAsset

logger = logging.getLogger(__name__)

# A websocket push is best effort (the client also polls); channels_redis would wait 5 s.
PUSH_TIMEOUT_SECONDS = 0.25


def asset_group(asset_id: int) -> str:
    return f"media.asset.{asset_id}"


def asset_status(asset: MediaAsset) -> dict[str, Any]:
    """What the owner sees while waiting (the API's status fields and the websocket's)."""
    upload_progress = (
        round(100 * asset.upload_offset / asset.upload_length) if asset.upload_length else 0
    )
    place = selectors.queue_place(asset)
    return {
        "id": str(asset.pk),
        "state": asset.state,
        "reason": asset.state_reason,
        "upload_progress": upload_progress,
        "progress": asset.progress,
        "playable": asset.playable_at is not None,
        "queue_position": place.position if place else None,
        "estimated_start_seconds": place.estimated_start_seconds if place else None,
    }


def _run_hooks(runner: Any, asset_id: int) -> None:
    """Higher apps' hooks run after our commit; their failure must not undo or retry our
    step (content also sweeps for a missed announcement)."""
    try:
        runner(asset_id=asset_id)
    except Exception:
        logger.exception("media: a state hook failed", extra={"asset_id": asset_id})


async def _push(layer: Any, group: str, message: dict[str, Any]) -> None:
    await asyncio.wait_for(layer.group_send(group, message), PUSH_TIMEOUT_SECONDS)


def _notify_on_commit(asset_id: int) -> None:
    def send() -> None:
        asset = MediaAsset.objects.filter(pk=asset_id).first()
        layer = get_channel_layer()
        if asset is None or layer is None:
            return
        message = {"type": "asset.update", "status": asset_status(asset)}
        try:
            # It runs in the request (every upload chunk): through the Redis breaker, and
            # bounded, so a hung Redis costs a fraction of a second, then nothing.
            with redis_health.breaker().guard():
                async_to_sync(_push)(layer, asset_group(asset_id), message)
        except Exception:  # a websocket push is best effort; polling still works
            logger.warning("media: websocket push failed", exc_info=True)

    transaction.on_commit(send)


def _notify_now(asset_id: int) -> None:
    with transaction.atomic():
        _notify_on_commit(asset_id)
