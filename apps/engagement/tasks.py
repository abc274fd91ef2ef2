"""Celery tasks of engagement: thin and safe to run twice (or concurrently)."""

from __future__ import annotations

from celery import shared_task

from apps.engagement import counters


@shared_task(name="engagement.flush_counters")
def flush_counters() -> int:
    """Apply the counter deltas buffered in Redis to Postgres (beat, every few seconds)."""
    updated = counters.flush()
    counters.prune_flush_markers()
    return updated
