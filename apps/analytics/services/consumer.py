"""The consumer run: reclaim, read, apply each chunk in one transaction, ack; failing
entries are retried alone and dead-lettered after `MAX_DELIVERIES` deliveries."""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import redis
from django.conf import settings
from django.db import OperationalError, transaction

from apps.analytics import online
from apps.analytics.services.accumulate import accumulate
from apps.analytics.services.retention import seconds_apply
from apps.analytics.services.upserts import _claim_entries, _write_aggregates
from apps.events.log import DEFAULT_GROUP, LogEntry, RedisStreamEventLog, consumer_name

logger = logging.getLogger(__name__)

READ_CHUNK = 100
DEADLOCK_RETRIES = 3
# An entry that failed to apply this many deliveries goes to the dead-letter stream.
MAX_DELIVERIES = 5


class EntriesApplier(Protocol):
    def __call__(self, *, stream: str, entries: Sequence[LogEntry]) -> tuple[int, int, int]:
        """Apply entries exactly once; (applied entries, their events, undecodable)."""
        ...


@dataclass
class ConsumeReport:
    entries: int = 0  # entries handled (applied now, or found applied before)
    applied: int = 0  # entries whose events were added now
    events: int = 0  # events in the applied entries
    reclaimed: int = 0  # entries taken over from a dead or stuck consumer
    skipped: int = 0  # entries that could not be decoded (acked, ignored)
    failed: int = 0  # entries whose application raised (left pending, or dead-lettered)
    dead_lettered: int = 0  # entries that failed MAX_DELIVERIES times, parked and acked


def entries_apply(*, stream: str, entries: Sequence[LogEntry]) -> tuple[int, int, int]:
    """Apply log entries to the aggregates exactly once (see the package docstring); returns
    (applied entries, their events, undecodable entries). Does not ack."""
    good = [e for e in entries if e.batch is not None]
    for attempt in range(DEADLOCK_RETRIES):
        try:
            with transaction.atomic():
                fresh = _claim_entries(stream, [e.entry_id for e in good])
                batches = [{"u": e.batch.user_id, "rt": e.batch.received_ms,
                            "e": e.batch.events}
                           for e in good if e.entry_id in fresh and e.batch is not None]
                agg = accumulate(batches)
                _write_aggregates(agg)
                # the per-second curves keep their own record (the backfill feeds them too)
                seconds_apply(stream=stream, entries=good)
            break
        except OperationalError as exc:  # deadlock or serialisation failure: try again
            if attempt == DEADLOCK_RETRIES - 1:
                raise
            logger.warning("analytics apply retry after %s", exc)
            time.sleep(0.05 * (attempt + 1))
    try:
        agg.features.write(online.write_client())
    except redis.RedisError as exc:
        logger.warning("analytics online features not written: %s", exc)
    return len(fresh), agg.events, len(entries) - len(good)


def events_consume(*, log: RedisStreamEventLog | None = None, group: str = DEFAULT_GROUP,
                   consumer: str | None = None, max_entries: int | None = None,
                   reclaim_idle_ms: int | None = None, chunk: int = READ_CHUNK,
                   apply_entries: EntriesApplier | None = None) -> ConsumeReport:
    """One consumer run: first take over entries left pending by a dead consumer, then read
    new entries, chunk by chunk, until the log is drained or `max_entries` were handled.
    Each chunk is applied in one transaction, then acked. Another consumer group (search's
    trending) passes its own group and `apply_entries` and reuses the loop."""
    applier = apply_entries or entries_apply
    log = log or RedisStreamEventLog()
    consumer = consumer or consumer_name()
    budget = max_entries if max_entries is not None else settings.ANALYTICS_CONSUME_MAX_ENTRIES
    idle = reclaim_idle_ms if reclaim_idle_ms is not None \
        else settings.ANALYTICS_RECLAIM_IDLE_MS
    report = ConsumeReport()

    def apply(entries: list[LogEntry]) -> None:
        applied, events, skipped = applier(stream=log.stream, entries=entries)
        log.ack(group=group, entry_ids=[e.entry_id for e in entries])
        report.entries += len(entries)
        report.applied += applied
        report.events += events
        report.skipped += skipped

    def handle(entries: list[LogEntry]) -> None:
        try:
            apply(entries)
            return
        except Exception:
            logger.exception("analytics chunk failed; applying its entries one by one")
        for entry in entries:
            try:
                apply([entry])
            except Exception as exc:  # noqa: BLE001
                report.failed += 1
                delivered = log.delivery_count(group=group, entry_id=entry.entry_id)
                if delivered >= MAX_DELIVERIES:
                    logger.error("analytics entry %s failed %d times; dead-lettered: %r",
                                 entry.entry_id, delivered, exc)
                    log.dead_letter(group=group, entry=entry, reason=repr(exc))
                    report.dead_lettered += 1
                # else: left pending; a later run reclaims it after the idle time

    def room() -> int:
        return budget - report.entries - report.failed

    while room() > 0:
        entries = log.reclaim(group=group, consumer=consumer, min_idle_ms=idle,
                              count=min(chunk, room()))
        if not entries:
            break
        report.reclaimed += len(entries)
        failed = report.failed
        handle(entries)
        if report.failed > failed:
            # what failed is pending again; with a short idle time it would come straight
            # back, so reclaiming stops for this run (new entries still go through)
            break
    while room() > 0:
        entries = log.read(group=group, consumer=consumer, count=min(chunk, room()))
        if not entries:
            break
        handle(entries)
    return report
