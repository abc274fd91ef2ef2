"""Celery tasks of analytics (the `reco` queue): thin and safe to run twice or at once."""

from __future__ import annotations

from celery import shared_task

from apps.analytics import services


@shared_task(name="apps.analytics.consume_events", ignore_result=True)
def consume_events() -> int:
    """Drain up to ANALYTICS_CONSUME_MAX_ENTRIES event-log entries into the aggregates
    (beat, every few seconds); reclaims what dead consumers left pending."""
    return services.events_consume().applied


@shared_task(name="apps.analytics.prune_applied_entries", ignore_result=True)
def prune_applied_entries() -> int:
    """Old idempotency rows, and consumers of dead worker processes (beat, every 6 h)."""
    services.consumers_prune()
    return services.applied_entries_prune()
