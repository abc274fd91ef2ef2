"""The lake's consumer group: a file per partition per flush, at least once across a
failed write and a run that died before its ack, the aggregates unaffected by a lake
failure; compaction (closed hours, dedupe by event id, late files) and retention."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from apps.analytics import services
from apps.analytics.lake import engine, maintenance, storage, writer
from apps.analytics.models import PostHourlyStats
from apps.events.log import RedisStreamEventLog
from tests.analytics.lake.helpers import send
from tests.content.factories import PostFactory
from tests.events.helpers import event, now_ms

pytestmark = pytest.mark.django_db

HOUR_MS = 3_600_000
# two closed hours: the events' own times, well inside the 30 days ingest accepts
H1 = (now_ms() // HOUR_MS - 3) * HOUR_MS + 60_000
H2 = H1 + HOUR_MS


@pytest.fixture
def lake(settings: Any, tmp_path: Path) -> Path:
    settings.LAKE_ROOT = tmp_path / "lake"
    settings.LAKE_S3_BUCKET = ""
    settings.CLICKHOUSE_URL = ""
    return tmp_path / "lake"


def files_in(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*.parquet"))


def count(sql: str = "SELECT count() AS n FROM events") -> int:
    return int(engine.run(sql)[0][0])


def pending_in_lake_group() -> int:
    return RedisStreamEventLog().pending_count(group=writer.GROUP)


def watch(post_id: int, ts: int, watched_ms: int = 1_000, **kw: Any) -> dict[str, Any]:
    return event("watch_end", post_id=post_id, ts=ts, watched_ms=watched_ms,
                 duration_ms=10_000, **kw)


def test_one_flush_writes_one_file_per_partition_and_acks(lake, user):
    post = PostFactory()
    for batch in range(5):  # five log entries, events in two hours
        send(user, [watch(post.pk, H1 + batch), watch(post.pk, H2 + batch)])

    report = writer.lake_flush(consumer="t")

    assert (report.entries, report.events, report.failed) == (5, 10, False)
    names = files_in(lake)
    assert len(names) == 2
    day1 = datetime.fromtimestamp(H1 / 1000, tz=UTC)
    day2 = datetime.fromtimestamp(H2 / 1000, tz=UTC)
    assert names[0].startswith(f"events/date={day1:%Y-%m-%d}/hour={day1:%H}/part-")
    assert names[1].startswith(f"events/date={day2:%Y-%m-%d}/hour={day2:%H}/part-")
    table = pq.read_table(lake / names[0])
    assert pq.ParquetFile(lake / names[0]).metadata.row_group(0).column(0).compression == "ZSTD"
    assert table.schema.field("ts").type == pa.timestamp("ms", tz="UTC")
    assert table.schema.field("watched_ms").type == pa.int64()
    assert pending_in_lake_group() == 0
    assert writer.lake_flush(consumer="t").entries == 0  # nothing new


def test_a_failed_write_loses_nothing_and_does_not_stop_the_aggregates(lake, settings, user,
                                                                       tmp_path):
    post = PostFactory()
    send(user, [watch(post.pk, H1, 2_000), watch(post.pk, H1 + 1, 3_000)])
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("a file where the lake's directory should be")
    settings.LAKE_ROOT = blocker / "lake"  # every write fails (NotADirectoryError)

    failed = writer.lake_flush(consumer="t")
    aggregates = services.events_consume(consumer="c")

    assert (failed.failed, failed.entries, failed.events) == (True, 0, 0)
    assert pending_in_lake_group() == 1  # still at its stream position in the lake group
    assert aggregates.applied == 1  # the aggregates' group went on
    assert PostHourlyStats.objects.get(post_id=post.pk).watch_ms == 5_000

    settings.LAKE_ROOT = lake  # the store is back: a later run writes the same entry
    retried = writer.lake_flush(consumer="t", reclaim_idle_ms=0)

    assert (retried.failed, retried.reclaimed, retried.entries, retried.events) == \
        (False, 1, 1, 2)
    assert pending_in_lake_group() == 0
    assert engine.run("SELECT sum(watched_ms) AS w FROM events") == [(5_000,)]


def test_compaction_merges_closed_hours_and_drops_repeated_writes(lake, user):
    post = PostFactory()
    send(user, [watch(post.pk, H1, 1_000), watch(post.pk, H2, 2_000)])
    writer.lake_flush(consumer="t")
    send(user, [watch(post.pk, H1 + 5, 4_000)])
    # a run that wrote its file and died before the ack: the entry is written again later
    log = RedisStreamEventLog()
    taken = log.read(group=writer.GROUP, consumer="dies", count=10)
    writer.write_rows(taken)
    writer.lake_flush(consumer="t", reclaim_idle_ms=0)
    assert count() == 4  # at least once: one event twice until compaction
    assert len(files_in(lake)) == 4  # H1: three flushes, H2: one

    # the hour after H2's is still open: nothing there is touched
    now = datetime.fromtimestamp(H2 / 1000, tz=UTC) + timedelta(minutes=30)
    report = maintenance.lake_compact(now=now)
    assert (report.partitions, report.files_in, report.rows_in, report.rows_out) == (1, 3, 3, 2)
    assert count() == 3
    assert engine.run("SELECT sum(watched_ms) AS w FROM events") == [(7_000,)]

    report = maintenance.lake_compact(now=now + timedelta(hours=2))  # H2 closed too
    assert (report.partitions, report.files_in) == (1, 1)
    names = files_in(lake)
    assert len(names) == 2
    assert all("/compacted-" in name for name in names)
    assert maintenance.lake_compact(now=now + timedelta(hours=2)).partitions == 0  # done

    # a late event lands in a compacted hour: the next compaction merges it in
    send(user, [watch(post.pk, H1 + 9, 8_000)])
    writer.lake_flush(consumer="t")
    assert len(files_in(lake)) == 3
    assert maintenance.lake_compact(now=now + timedelta(hours=2)).rows_out == 3
    assert len(files_in(lake)) == 2
    assert engine.run("SELECT count() AS n, sum(watched_ms) AS w FROM events") == [(4, 15_000)]


def test_files_without_newer_columns_read_as_null_and_compact(lake, user):
    post = PostFactory()
    send(user, [watch(post.pk, H1, 1_000)])
    writer.lake_flush(consumer="t")
    old = pa.table({"event_id": ["old/0"], "type": ["watch_end"],
                    "ts": pa.array([H1 + 1], pa.timestamp("ms", tz="UTC")),
                    "watched_ms": pa.array([500], pa.int64())})
    part = storage.Partition.of_ms(H1)
    pq.write_table(old, lake / part.path / "part-0-old.parquet")

    entries: Any = RedisStreamEventLog().client.xrange(RedisStreamEventLog().stream)
    assert engine.run("SELECT event_id, watched_ms, arm, post_id FROM events ORDER BY ts") == \
        [(f"{entries[0][0]}/0", 1_000, None, post.pk), ("old/0", 500, None, None)]
    now = datetime.fromtimestamp(H1 / 1000, tz=UTC) + timedelta(hours=2)
    assert maintenance.lake_compact(now=now).rows_out == 2
    assert engine.run("SELECT sum(watched_ms) AS w FROM events") == [(1_500,)]


def test_exposures_reach_the_lake_with_their_experiment_and_arm(lake, user):
    send(user, [event("exposure", ts=H1, experiment="ranker-v7", arm="treatment")],
         server=True)
    writer.lake_flush(consumer="t")
    assert engine.run("SELECT user_id, experiment, arm FROM events WHERE type = 'exposure'") \
        == [(user.pk, "ranker-v7", "treatment")]


def test_retention_deletes_whole_days_older_than_the_setting(lake, settings, user):
    post = PostFactory()
    old_ts = now_ms() - 3 * 24 * HOUR_MS
    send(user, [watch(post.pk, old_ts), watch(post.pk, H1)])
    writer.lake_flush(consumer="t")
    settings.LAKE_RETENTION_DAYS = 2

    deleted = maintenance.lake_expire()

    assert deleted == 1
    old_day = datetime.fromtimestamp(old_ts / 1000, tz=UTC).strftime("%Y-%m-%d")
    assert not (lake / "events" / f"date={old_day}").exists()
    assert engine.run("SELECT toUnixTimestamp64Milli(ts) AS t FROM events") == [(H1,)]
    assert maintenance.lake_expire() == 0


def test_a_removed_account_leaves_the_lake(lake, user):
    from apps.core.models import OutboxTask
    from tests.factories import UserFactory

    other = UserFactory()
    post = PostFactory()
    send(user, [watch(post.pk, H1, 1_000), watch(post.pk, H2, 2_000)])
    send(other, [watch(post.pk, H1 + 1, 4_000)])
    writer.lake_flush(consumer="t")
    untouched = [name for name in files_in(lake)
                 if storage.Partition.of_ms(H2).path in name]

    services.analytics_purge_user(user_id=user.pk)  # the hook sends the lake's task
    assert OutboxTask.objects.filter(task="apps.analytics.lake_purge_user",
                                     kwargs={"user_id": user.pk}).exists()
    assert maintenance.lake_purge_user(user_id=user.pk) == 2

    assert engine.run("SELECT user_id, watched_ms FROM events") == [(other.pk, 4_000)]
    assert untouched[0] not in files_in(lake)  # the hour that held only the user: no file
    assert maintenance.lake_purge_user(user_id=user.pk) == 0


def test_the_operators_command_flushes_compacts_and_queries(lake, user):
    from io import StringIO

    from django.core.management import call_command

    post = PostFactory()
    send(user, [watch(post.pk, H1, 1_000)])
    out = StringIO()
    call_command("analytics_lake", "flush", stdout=out)
    call_command("analytics_lake", "sql", "SELECT count() AS n FROM events", stdout=out)
    assert out.getvalue().splitlines() == ["entries 1, events 1, files 1", "1"]
