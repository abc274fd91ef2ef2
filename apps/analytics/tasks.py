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


@shared_task(name="apps.analytics.lake_flush", ignore_result=True)
def lake_flush() -> int:
    """Raw events of the log into the lake as Parquet (beat, every 30 s; the `lake` group)."""
    from apps.analytics.lake import writer

    return writer.lake_flush().events


@shared_task(name="apps.analytics.lake_compact", ignore_result=True)
def lake_compact() -> int:
    """Closed hours of the lake merged into one file each, deduplicated (beat, 10 min);
    one at a time (a Redis lock)."""
    from apps.analytics.lake import maintenance
    from apps.events.log import redis_client

    lock = redis_client().lock("lake:compact:lock", timeout=1800, blocking=False)
    if not lock.acquire():
        return 0
    try:
        return maintenance.lake_compact().partitions
    finally:
        lock.release()


@shared_task(name="apps.analytics.lake_expire", ignore_result=True)
def lake_expire() -> int:
    """Partitions older than LAKE_RETENTION_DAYS deleted (beat, every 6 h)."""
    from apps.analytics.lake import maintenance

    return maintenance.lake_expire()


@shared_task(name="apps.analytics.lake_purge_user", ignore_result=True)
def lake_purge_user(user_id: int, again: bool = True) -> int:
    """A removed account's rows out of the lake (account removal, through the outbox),
    under the compaction lock; once more after the lake's flush and reclaim times, for
    events of the user that were still in the stream."""
    from django.conf import settings

    from apps.analytics.lake import maintenance
    from apps.events.log import redis_client

    with redis_client().lock("lake:compact:lock", timeout=1800, blocking_timeout=1800):
        rewritten = maintenance.lake_purge_user(user_id=user_id)
    if again:
        lake_purge_user.apply_async(kwargs={"user_id": user_id, "again": False},
                                    countdown=settings.LAKE_RECLAIM_IDLE_MS // 1000 + 120)
    return rewritten


@shared_task(name="apps.analytics.qoe_check_thresholds", ignore_result=True)
def qoe_check_thresholds() -> int:
    """The staff's QoE alert thresholds against the last window of the lake (beat, 5 min);
    raises the alert on a crossing, once."""
    from apps.analytics.qoe import alerts

    return len(alerts.check_thresholds().raised)
