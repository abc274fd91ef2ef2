"""Celery tasks of live: thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="live.end_if_not_back")
def end_if_not_back(live_id: str, disconnected_at: str) -> bool:
    """The reconnect window's timer (sent after `publish_stopped` commits). Sent at once by
    the outbox, it waits out the rest of the window itself (a countdown re-send); the
    `live.sweep` beat is the backstop if that re-send is lost."""
    from django.utils import timezone
    from django.utils.dateparse import parse_datetime

    from apps.live.models import LivePolicy
    from apps.live.services import lifecycle

    since = parse_datetime(disconnected_at)
    if since is None:
        return False
    due = since.timestamp() + LivePolicy.current().reconnect_window_seconds
    remaining = due - timezone.now().timestamp()
    if remaining > 0:
        end_if_not_back.apply_async(args=[live_id, disconnected_at], countdown=remaining + 0.5)
        return False
    return lifecycle.end_if_not_back(live_id=int(live_id), disconnected_at=disconnected_at)


@shared_task(name="live.sweep")
def sweep() -> int:
    """Beat: end lives whose encoder never came back (a lost timer) and set-ups no media
    ever reached."""
    from apps.live.services import lifecycle

    return lifecycle.sweep_stale()


@shared_task(name="live.live_started_fan_out")
def live_started_fan_out(live_id: str) -> int:
    """Tell the host's followers the live started (once per live; resumable)."""
    from apps.live import notices

    return notices.live_started(int(live_id))


@shared_task(name="live.make_replay")
def make_replay(live_id: str) -> int | None:
    """The recording becomes a replay post through the VOD pipeline."""
    from apps.live.services import replay

    return replay.make_replay(int(live_id))
