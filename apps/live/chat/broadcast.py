"""What the chat's services tell a live's room (the connections of `ws/live/<id>/`), after
their transaction commits. Best effort, like messaging's live delivery: PostgreSQL is the
record (a joiner reads the recent chat through the API or the socket's first frame).

One channel-layer group per live (`room_group`); each server process has ONE member in it
(its room's relay, `room.Room`), which hands every event to the process's connections
with the frame serialised once. Events:
- `live.event` {"frame", "author"?}: a frame for everyone (but viewers who blocked the
  author, or whom the author blocked);
- `live.user` {"user", "frame", "close"?}: a frame for one person's connections (muted,
  banned: with `close` their connections end);
- `live.end` {"frame"}: the live ended; every connection gets the frame and closes.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from apps.notifications.live import send_to_groups

logger = logging.getLogger(__name__)

CLOSE_ENDED = 4000  # the live ended (a normal end the client shows, not an error)
CLOSE_BANNED = 4403


def room_group(live_id: int) -> str:
    return f"live.chat.{live_id}"


def send(live_id: int, frame: dict[str, Any], *, author: int | None = None) -> None:
    send_to_groups([(room_group(live_id), {"type": "live.event", "frame": frame,
                                           "author": author})])


def send_on_commit(live_id: int, frame: dict[str, Any], *, author: int | None = None) -> None:
    transaction.on_commit(lambda: send(live_id, frame, author=author))


def to_user_on_commit(live_id: int, user_id: int, frame: dict[str, Any], *,
                      close: bool = False) -> None:
    transaction.on_commit(lambda: send_to_groups([(room_group(live_id), {
        "type": "live.user", "user": user_id, "frame": frame, "close": close})]))


def live_ended(live_id: int) -> None:
    """H1's `live_end` calls this (after its commit): the stats counted in Redis are written
    on the live, every connection is told and closed, the live's counters go."""
    from apps.live.chat import services, standing

    standing.bump([standing.live_key(live_id)])  # a socket's kept standing: ended
    try:
        services.stats_record(live_id, final=True)
    except Exception:  # the end itself stands; the stats keep what was flushed before
        logger.warning("live: final stats of %s not written", live_id, exc_info=True)
    send_to_groups([(room_group(live_id), {"type": "live.end", "frame": {
        "type": "ended", "message": "This live has ended."}})])
