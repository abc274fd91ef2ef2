"""Thin Celery tasks over apps.moderation.services."""

from __future__ import annotations

from celery import shared_task

from apps.moderation import services


@shared_task(name="apps.moderation.standings_sweep")
def standings_sweep() -> int:
    """Lift suspensions and feature limits that have run out (beat, every few minutes)."""
    return services.standings_sweep()
