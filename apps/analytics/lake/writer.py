"""The lake's writer: the event log's own consumer group (`lake`), apart from the aggregates'.

One run (`lake_flush`, beat every 30 s) takes what this group left pending for longer than
`LAKE_RECLAIM_IDLE_MS` (a run that died or failed to write), then new entries, up to
`LAKE_FLUSH_MAX_ENTRIES`; turns their events into rows (`columns`); writes ONE Parquet file
per (day, hour) partition the rows fall in; and only then acks the entries. So:

- a flush is a file per partition, not a file per event or per entry;
- at least once: a run that dies or cannot write (storage down) acks nothing; the entries
  stay pending in the `lake` group at their stream position and a later run writes them.
  A run that wrote some partitions and then failed writes those rows again later:
  compaction keeps one row per `event_id`;
- the aggregates do not wait for the lake, nor the lake for them: a separate group on the
  same stream, a separate task. A lake write failure is logged and retried, never
  dead-lettered (an outage of the store would otherwise drop events);
- the lake sees what the stream still holds: a lake group lagging by more than
  `EVENTS_STREAM_MAXLEN` entries loses the oldest, as any consumer group does.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from django.conf import settings

from apps.analytics.lake import columns, storage
from apps.events.log import LogEntry, RedisStreamEventLog, consumer_name

logger = logging.getLogger(__name__)

GROUP = "lake"
READ_CHUNK = 500


@dataclass
class FlushReport:
    entries: int = 0  # entries acked by this run
    events: int = 0  # rows written
    reclaimed: int = 0  # entries taken over from an earlier run that did not ack
    files: list[str] = field(default_factory=list)
    failed: bool = False  # the write failed: nothing acked, retried by a later run


def write_rows(entries: list[LogEntry]) -> tuple[int, list[str]]:
    """The entries' events as one Parquet file per partition; (rows, stored names)."""
    table = columns.table_from_columns(columns.rows_from_entries(entries))
    if table.num_rows == 0:
        return 0, []
    store = storage.lake_storage()
    ts_ms = pc.cast(table.column("ts"), pa.int64()).to_numpy()
    hours = ts_ms // 3_600_000
    names: list[str] = []
    groups: dict[int, list[int]] = defaultdict(list)
    for index, hour in enumerate(hours.tolist()):
        groups[hour].append(index)
    for hour, indices in sorted(groups.items()):
        partition = storage.Partition.of_ms(hour * 3_600_000)
        part = table.take(pa.array(np.asarray(indices, dtype=np.int64)))
        names.append(storage.write_table(store, storage.new_name(partition, "part"), part))
    return table.num_rows, names


def lake_flush(*, log: RedisStreamEventLog | None = None, consumer: str | None = None,
               max_entries: int | None = None, reclaim_idle_ms: int | None = None
               ) -> FlushReport:
    """One run of the lake's consumer (see the module docstring)."""
    log = log or RedisStreamEventLog()
    consumer = consumer or consumer_name()
    budget = max_entries if max_entries is not None else settings.LAKE_FLUSH_MAX_ENTRIES
    idle = reclaim_idle_ms if reclaim_idle_ms is not None else settings.LAKE_RECLAIM_IDLE_MS
    report = FlushReport()
    taken: list[LogEntry] = []
    seen: set[str] = set()
    while len(taken) < budget:
        # XAUTOCLAIM starts from the stream's beginning each time and what this run just
        # claimed is claimable again at once with a zero idle time: stop at the first repeat
        got = [e for e in log.reclaim(group=GROUP, consumer=consumer, min_idle_ms=idle,
                                      count=min(READ_CHUNK, budget - len(taken)))
               if e.entry_id not in seen]
        if not got:
            break
        seen.update(e.entry_id for e in got)
        report.reclaimed += len(got)
        taken.extend(got)
    while len(taken) < budget:
        got = log.read(group=GROUP, consumer=consumer,
                       count=min(READ_CHUNK, budget - len(taken)))
        if not got:
            break
        taken.extend(got)
    if not taken:
        return report
    try:
        report.events, report.files = write_rows(taken)
    except Exception:
        # storage down, disk full, a bug: nothing is acked; the entries stay pending in the
        # lake group and the next run after the idle time writes them
        logger.exception("lake flush of %d entries failed; left pending", len(taken))
        report.failed = True
        return report
    log.ack(group=GROUP, entry_ids=[e.entry_id for e in taken])
    report.entries = len(taken)
    return report
