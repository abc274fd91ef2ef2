"""Compaction and retention of the lake (beat: `lake_compact` every 10 min, `lake_expire`
every 6 h).

**Compaction.** An hour is closed `LAKE_COMPACT_AFTER_SECONDS` (15 min) after its end. A
closed hour with more than one file, or with a flush's `part-` file, is merged into one
`compacted-` file: rows deduplicated by `event_id` (the at-least-once writer's repeats),
sorted by `ts`; the new file is written first and the inputs deleted after, so a crash in
between leaves duplicates that the next compaction removes, never a gap. Late events (an
event's time is its own, up to 30 days back) add `part-` files to a compacted hour; the next
run merges them in. Two compactions at once would both write and both delete inputs, so
beat's task holds a Redis lock (`lake:compact:lock`).

**Retention.** Partitions whose day is older than `LAKE_RETENTION_DAYS` are deleted.

**Account removal.** `lake_purge_user` rewrites the files that hold the user's rows
without them (analytics' account-removal hook sends the task through the outbox; the task
runs again a few minutes later for events that were still in the stream).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings
from django.core.files.storage import Storage

from apps.analytics.lake import columns, storage

logger = logging.getLogger(__name__)


@dataclass
class CompactReport:
    partitions: int = 0  # partitions rewritten
    files_in: int = 0
    rows_in: int = 0
    rows_out: int = 0  # rows_in - rows_out duplicates were dropped


def _closed(partition: storage.Partition, now: datetime) -> bool:
    end = partition.start + timedelta(hours=1)
    return end + timedelta(seconds=settings.LAKE_COMPACT_AFTER_SECONDS) <= now


def _needs_compaction(files: list[str]) -> bool:
    return len(files) > 1 or any(name.rsplit("/", 1)[-1].startswith("part-") for name in files)


def compact_partition(store: Storage, partition: storage.Partition) -> tuple[int, int, int]:
    """Merge one partition's files into one; (files in, rows in, rows out)."""
    files = storage.partition_files(store, partition)
    if not _needs_compaction(files):
        return 0, 0, 0
    schema = columns.arrow_schema()
    tables = []
    for name in files:
        table = storage.read_table(store, name)
        # older files may lack columns added to the contract since: NULLs of the right type
        for column in schema:
            if column.name not in table.column_names:
                table = table.append_column(column, pa.nulls(table.num_rows, column.type))
        tables.append(table.select(schema.names).cast(schema))
    merged = pa.concat_tables(tables)
    ids = merged.column("event_id").to_numpy(zero_copy_only=False)
    _, first = np.unique(ids, return_index=True)
    deduped = merged.take(pa.array(np.sort(first)))
    deduped = deduped.sort_by([("ts", "ascending"), ("event_id", "ascending")])
    storage.write_table(store, storage.new_name(partition, "compacted"), deduped)
    for name in files:
        store.delete(name)
    return len(files), merged.num_rows, deduped.num_rows


def lake_compact(*, now: datetime | None = None) -> CompactReport:
    now = now or datetime.now(tz=UTC)
    store = storage.lake_storage()
    report = CompactReport()
    for partition in storage.partitions(store):
        if not _closed(partition, now):
            continue
        files_in, rows_in, rows_out = compact_partition(store, partition)
        if files_in:
            report.partitions += 1
            report.files_in += files_in
            report.rows_in += rows_in
            report.rows_out += rows_out
    return report


def lake_expire(*, now: datetime | None = None) -> int:
    """Delete partitions of days older than LAKE_RETENTION_DAYS; returns files deleted."""
    now = now or datetime.now(tz=UTC)
    oldest_kept = (now - timedelta(days=settings.LAKE_RETENTION_DAYS)).strftime("%Y-%m-%d")
    store = storage.lake_storage()
    deleted = 0
    for partition in list(storage.partitions(store)):
        if partition.day < oldest_kept:
            deleted += storage.delete_partition(store, partition)
    return deleted


def lake_purge_user(*, user_id: int) -> int:
    """Account removal: every lake file holding a row of the user is rewritten without
    them (found by chdb's `_path` of the files, so only those files are read); returns files
    rewritten. Callers hold the compaction lock (a compaction reading a file while it is
    rewritten would write the user's rows back)."""
    from apps.analytics.lake import engine

    store = storage.lake_storage()
    rewritten = 0
    for path in engine.files_with_user(user_id):
        name = storage.EVENTS_DIR + "/" + path.split(f"/{storage.EVENTS_DIR}/", 1)[1]
        table = storage.read_table(store, name)
        keep = pc.invert(pc.fill_null(pc.equal(table.column("user_id"), user_id), False))
        kept = table.filter(keep)
        partition_dir = name.rsplit("/", 1)[0]
        day, hour = partition_dir.split("/")[1:3]
        partition = storage.Partition(day.removeprefix("date="), int(hour.removeprefix("hour=")))
        if kept.num_rows:
            storage.write_table(store, storage.new_name(partition, "compacted"), kept)
        store.delete(name)
        rewritten += 1
    return rewritten
