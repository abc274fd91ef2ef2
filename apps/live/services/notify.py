"""Telling people about lives (the notifications app does the fan-out; it takes ints and
never imports live)."""

from __future__ import annotations

from apps.live.models import LiveStream


def live_started(live_id: int) -> int:
    """The host's followers with live notifications on hear that the live started. Once per
    live: the fan-out is keyed by the live's id (a reconnect never calls this)."""
    live = LiveStream.objects.filter(pk=live_id).only("host_id", "state", "title").first()
    if live is None or live.state not in (LiveStream.State.LIVE,
                                          LiveStream.State.RECONNECTING):
        return 0
    return 0  # the fan-out lands with notifications' live_started type
