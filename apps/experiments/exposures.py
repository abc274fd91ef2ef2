"""Exposures: a unit was shown an experiment's arm (a flag value an arm decided was read).

`record` stores the sticky assignment (first exposure; INSERT .. ON CONFLICT DO NOTHING) and
writes one `exposure` event to the event stream (apps.events, server-only type), at most once
per unit, experiment and UTC day: a Redis marker (SET NX, 2 days) dedupes across processes,
and the event's id (`x<experiment id>.<day>`) makes the event log drop a repeat too. The
analysis reads the exposures from the event lake and the arms from `Assignment`.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Final

from django.core.cache import cache

from apps.events import devices
from apps.events.services import events_ingest
from apps.experiments.models import Assignment
from apps.experiments.rules import Unit

logger = logging.getLogger(__name__)

MARKER_TTL: Final = 2 * 24 * 3600


def _marker(unit_key: str, experiment_id: int, salt: str, day: str) -> str:
    return f"experiments:exposed:{experiment_id}:{salt}:{day}:{unit_key}"


def record(
    *, unit: Unit, experiment_id: int, experiment_key: str, salt: str, arm: str, now: datetime
) -> bool:
    """Record one exposure; False when this unit was already exposed today (nothing done)."""
    if not unit.key:
        return False
    day = now.strftime("%Y%m%d")
    # The cache stands in for Redis while it is down (apps.core.cache_backend).
    fresh = cache.add(_marker(unit.key, experiment_id, salt, day), 1, MARKER_TTL)
    if not fresh:
        return False
    Assignment.objects.bulk_create(
        [
            Assignment(
                experiment_id=experiment_id, unit=unit.key, arm=arm, salt=salt, first_exposed_at=now
            )
        ],
        ignore_conflicts=True,
    )
    session = f"u{unit.user_id}" if unit.user_id is not None else unit.device_id[:64]
    event = {
        "id": f"x{experiment_id}.{day}",
        "type": "exposure",
        "ts": int(now.timestamp() * 1000),
        "session_id": session,
        "post_id": None,
        "data": {"experiment": experiment_key, "arm": arm},
    }
    client = {"auth": "server", "platform": unit.platform}
    if unit.app_version:
        client["app_version"] = unit.app_version
    device = devices.valid_device_id(unit.device_id)
    if device:
        client["device_id"] = device  # as the events API stamps a client's batches
    result = events_ingest(
        user_id=unit.user_id, viewer=None, events=[event], client=client, server=True
    )
    if result.rejected:
        logger.warning("experiments: exposure event refused: %s", result.rejected[0].message)
    return True
