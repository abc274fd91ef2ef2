"""Celery tasks of engagement: thin and safe to run twice (or concurrently)."""

from __future__ import annotations

from celery import shared_task

from apps.engagement import counters


@shared_task(name="engagement.flush_counters")
def flush_counters() -> int:
    """Add the journaled counter deltas to the posts (beat, every few seconds)."""
    return counters.flush()
