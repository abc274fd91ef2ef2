"""Celery tasks of events: thin and safe to run twice (or concurrently)."""

from __future__ import annotations

from celery import shared_task

from apps.events.spool import spool_drain


@shared_task(name="events.drain_spool", ignore_result=True)
def drain_spool() -> int:
    """Append the batches spooled in PostgreSQL while the event log was unavailable (beat,
    every few seconds; nothing to do is one indexed query)."""
    return spool_drain().batches
