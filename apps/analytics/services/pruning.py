"""Housekeeping of the consumer group and of the applied-entry record."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from apps.analytics.models import AppliedEntry, RetentionAppliedEntry
from apps.events.log import DEFAULT_GROUP, RedisStreamEventLog

APPLIED_ENTRY_RETENTION = timedelta(days=7)


def consumers_prune(*, idle: timedelta = timedelta(days=1)) -> int:
    """Each worker process joins the group under its own name; forget the ones that hold no
    pending entries and have not read for a day."""
    return RedisStreamEventLog().prune_consumers(group=DEFAULT_GROUP,
                                                 idle_ms=int(idle.total_seconds() * 1000))


def applied_entries_prune(*, older_than: timedelta = APPLIED_ENTRY_RETENTION) -> int:
    cutoff = timezone.now() - older_than
    deleted, _ = AppliedEntry.objects.filter(applied_at__lt=cutoff).delete()
    RetentionAppliedEntry.objects.filter(applied_at__lt=cutoff).delete()
    return deleted
