"""The per-second retention step: each ended play (watch_end, skip) adds one to every
second of its post's curve up to the furthest point it reached. Its own exactly-once
record (`RetentionAppliedEntry`) lets the live consumer and the backfill
(`retention_backfill`, `manage.py analytics_backfill_retention`) both feed it: whichever
claims an entry first counts it, the other skips it."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import transaction

from apps.analytics.services.upserts import _claim_entries, _upsert
from apps.content.models import Post
from apps.events import schema as ev
from apps.events.log import LogEntry, RedisStreamEventLog

logger = logging.getLogger(__name__)

# Posts are at most 10 minutes (media's probe refuses longer uploads); a client reporting
# more is clamped here, so one bad event cannot grow an array without bound.
RETENTION_MAX_SECONDS = 600
RETENTION_TABLE = "analytics_retentionappliedentry"
# The backfill replays only what is newer than this: older applied-entry rows may have
# been pruned (7 days), and an entry whose record is gone could count twice.
BACKFILL_WINDOW = timedelta(days=6)


def furthest_second(data: dict[str, Any]) -> int:
    """The last whole second an ended play reached: its watch time, capped at the video's
    duration (a looping play reached the end)."""
    reached_ms = min(int(data["watched_ms"]), int(data["duration_ms"]))
    return min(reached_ms // 1000, RETENTION_MAX_SECONDS)


def accumulate_seconds(batches: Sequence[dict[str, Any]]) -> dict[int, list[int]]:
    """Per post, the per-second curve deltas of the batches' ended plays. Posts that do not
    exist count nowhere (one query)."""
    ended = [e for b in batches for e in b["e"]
             if e["type"] in (ev.WATCH_END, ev.SKIP) and e["post_id"] is not None]
    if not ended:
        return {}
    known = set(Post.objects.filter(pk__in={e["post_id"] for e in ended})
                .values_list("id", flat=True))
    curves: dict[int, list[int]] = {}
    for e in ended:
        if e["post_id"] not in known:
            continue
        last = furthest_second(e["data"])
        curve = curves.setdefault(e["post_id"], [])
        if len(curve) <= last:
            curve.extend([0] * (last + 1 - len(curve)))
        for second in range(last + 1):
            curve[second] += 1
    return curves


def write_seconds(curves: dict[int, list[int]]) -> None:
    """Add curves to the table (arrays of different lengths add element-wise, the shorter
    one read as zeros past its end)."""
    _upsert("analytics_postsecondretention", ("post_id",), {"reached": "array_add"},
            {pid: {"reached": curve} for pid, curve in curves.items()})


def seconds_apply(*, stream: str, entries: Sequence[LogEntry]) -> int:
    """Apply entries to the per-second curves exactly once, in the caller's transaction
    (the live consumer's chunk) or in its own (the backfill); returns how many were new."""
    good = {e.entry_id: e for e in entries if e.batch is not None}
    with transaction.atomic():
        fresh = _claim_entries(stream, sorted(good), table=RETENTION_TABLE)
        batches = [{"u": e.batch.user_id, "rt": e.batch.received_ms, "e": e.batch.events}
                   for eid, e in good.items() if eid in fresh and e.batch is not None]
        write_seconds(accumulate_seconds(batches))
    return len(fresh)


@dataclass
class BackfillReport:
    read: int = 0  # entries read from the log
    applied: int = 0  # entries counted now (the rest were counted before)


def retention_backfill(*, log: RedisStreamEventLog | None = None, chunk: int = 200,
                       window: timedelta = BACKFILL_WINDOW,
                       now_ms: int | None = None) -> BackfillReport:
    """Replay the log's entries of the last `window` into the per-second curves: the
    entries applied before this step existed are counted, the others are skipped by the
    step's exactly-once record. Safe to run twice, or beside the consumer."""
    log = log or RedisStreamEventLog()
    start_ms = (now_ms if now_ms is not None else ev.now_ms()) \
        - int(window.total_seconds() * 1000)
    cursor = f"{max(start_ms, 0)}-0"
    report = BackfillReport()
    while True:
        entries = log.entries_after(cursor, count=chunk)
        if not entries:
            return report
        report.read += len(entries)
        report.applied += seconds_apply(stream=log.stream, entries=entries)
        cursor = entries[-1].entry_id
