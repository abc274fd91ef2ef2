"""Celery tasks of live safety (imported by `receivers.connect`, so workers know them)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="live.frames_sweep")
def frames_sweep() -> int:
    """Beat, every few seconds: a frame check per live on air (nothing when nobody is)."""
    from apps.live.safety import frames

    return frames.frames_sweep()


@shared_task(name="live.frame_check")
def frame_check(live_id: str) -> str:
    """One live's latest frame through the nudity check (idempotent: a frame seen is
    skipped)."""
    from apps.live.safety import frames

    return frames.frame_check(int(live_id))
