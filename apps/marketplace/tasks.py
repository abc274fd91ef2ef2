"""Celery tasks of the marketplace: thin, idempotent, calling services."""

from __future__ import annotations

from celery import shared_task

from apps.marketplace.services import mediakit


@shared_task(name="marketplace.refresh_media_kits", ignore_result=True)
def refresh_media_kits() -> int:
    """Refresh every media kit older than a day from real data (beat, daily)."""
    return mediakit.refresh_stale_kits()
