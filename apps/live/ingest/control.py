"""What the rest of live asks of the running ingest.

`kick(live_id)` (H1's `live_end` calls it after every end: the host, a moderator, a revoked
key, the encoder not coming back): the live's playlists get EXT-X-ENDLIST (the `ended`
marker the transcoder also reads, so its last write keeps it), and nginx-rtmp's control
module drops the publisher (`/control/drop/publisher`), which SIGTERMs its transcoder.
An SRT listener of the live is stopped by the ingest's next reconcile (the live is no longer
wanted)."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
from django.conf import settings

from apps.live.ingest import config
from apps.live.ingest.transcoder import ENDED_MARKER, write_media_playlists

logger = logging.getLogger("apps.live.ingest")


def live_dir(live_id: int | str) -> Path:
    return Path(settings.SWIPEME_LIVE_ROOT) / str(int(live_id))


def mark_ended(live_id: int | str) -> None:
    directory = live_dir(live_id)
    if directory.is_dir():
        (directory / ENDED_MARKER).touch()
        write_media_playlists(directory)


def kick(live_id: int | str) -> bool:
    """End the live's media: ENDLIST on its playlists, its publisher dropped. True when the
    ingest answered (False: no ingest running; nothing is publishing then either)."""
    mark_ended(live_id)
    state = config.running_state() or {}
    port = state.get("control_port") or settings.SWIPEME_LIVE_CONTROL_PORT
    try:
        host = settings.SWIPEME_LIVE_CONTROL_HOST
        response = httpx.get(f"http://{host}:{port}/control/drop/publisher",
                             params={"app": "live", "name": str(int(live_id))}, timeout=2.0)
    except httpx.HTTPError as exc:
        logger.warning("live %s: the ingest's control did not answer: %s", live_id, exc)
        return False
    return response.status_code < 500
