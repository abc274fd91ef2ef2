"""The engine (chdb in process) over Parquet the lake's consumer wrote in the test: events
ingested as the event API does (validation, visibility, dedupe, the real Redis stream),
flushed by the lake's consumer group, queried with parameters and a side table."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest

from apps.analytics.lake import engine, writer
from tests.analytics.lake.helpers import send
from tests.content.factories import PostFactory
from tests.events.helpers import event, now_ms

pytestmark = pytest.mark.django_db

T0 = now_ms() - 120_000


@pytest.fixture
def lake(settings: Any, tmp_path: Path) -> Path:
    settings.LAKE_ROOT = tmp_path / "lake"
    settings.LAKE_S3_BUCKET = ""
    settings.CLICKHOUSE_URL = ""
    return tmp_path / "lake"


def test_the_events_view_reads_what_the_consumer_wrote(lake, user):
    post = PostFactory()
    send(user, [
        event("play_start", post_id=post.pk, ts=T0, source="for_you"),
        event("watch_end", post_id=post.pk, ts=T0 + 1, watched_ms=4_000, duration_ms=9_000,
              loops=2),
    ])
    send(None, [event("watch_end", post_id=post.pk, ts=T0 + 2, session_id="anon-1",
                             watched_ms=1_500, duration_ms=9_000)])

    report = writer.lake_flush(consumer="t")

    assert (report.entries, report.events, report.failed) == (2, 3, False)
    rows = engine.run(
        "SELECT type, user_id, session_id, post_id, watched_ms, duration_ms, loops, source,"
        " toUnixTimestamp64Milli(ts) FROM events ORDER BY ts")
    assert rows == [
        ("play_start", user.pk, "sess-1", post.pk, None, None, None, "for_you", T0),
        ("watch_end", user.pk, "sess-1", post.pk, 4_000, 9_000, 2, None, T0 + 1),
        ("watch_end", None, "anon-1", post.pk, 1_500, 9_000, None, None, T0 + 2),
    ]


def test_parameters_and_a_side_table_join(lake, user):
    post = PostFactory()
    send(user, [event("watch_end", post_id=post.pk, ts=T0, watched_ms=w,
                             duration_ms=9_000) for w in (1_000, 2_000, 3_000)])
    send(None, [event("watch_end", post_id=post.pk, ts=T0, session_id="anon-1",
                             watched_ms=7_000, duration_ms=9_000)])
    writer.lake_flush(consumer="t")
    sql = ("SELECT a.arm AS arm, count() AS n, sum(e.watched_ms) AS w FROM events AS e"
           " INNER JOIN assignments AS a ON a.unit = e.user_id"
           " WHERE e.type = {kind:String} AND e.ts >= {since:DateTime64(3, 'UTC')}"
           " GROUP BY a.arm ORDER BY a.arm")
    since = datetime.fromtimestamp(T0 / 1000, tz=UTC)
    assignments = {"unit": [user.pk, user.pk + 1], "arm": ["treatment", "control"]}

    rows = engine.run(sql, {"kind": "watch_end", "since": since}, tables={"assignments":
                                                                         assignments})

    assert rows == [("treatment", 3, 6_000)]
    # the same through Arrow, and a window that starts after the events
    table = engine.run_arrow(sql, {"kind": "watch_end",
                                   "since": datetime.fromtimestamp(T0 / 1000 + 1, tz=UTC)},
                             tables={"assignments": pa.table(assignments)})
    assert table.num_rows == 0
    assert table.column_names == ["arm", "n", "w"]


def test_an_empty_lake_answers_nothing_and_bad_sql_is_an_engine_error(lake):
    assert engine.run("SELECT count() FROM events") == [(0,)]
    with pytest.raises(engine.EngineError):
        engine.run("SELECT nonsense FROM events")
    with pytest.raises(engine.EngineError):
        engine.run("SELECT {missing:String}")
    with pytest.raises(engine.EngineError):
        engine.run("SELECT 1", tables={"events": {"a": [1]}})


def test_clickhouse_url_sends_the_query_to_a_server(lake, settings):
    """No ClickHouse server that clickhouse-connect supports can be installed here (Debian
    ships 18.16, which it cannot talk to; PyPI has no server): the client path is checked
    up to the wire, against a port where nothing listens."""
    settings.CLICKHOUSE_URL = "http://default:@127.0.0.1:9/default"
    assert engine.backend() == "clickhouse"
    with pytest.raises(engine.EngineError):
        engine.run("SELECT count() AS n FROM events JOIN assignments AS a ON a.unit = user_id",
                   tables={"assignments": {"unit": [1], "arm": ["a"]}})


def test_parameter_values_in_clickhouse_text_form():
    aware = datetime(2026, 12, 6, 9, 30, 1, 250_000, tzinfo=UTC)
    assert engine.param_text(aware) == "2026-12-06 09:30:01.250"
    assert engine.param_text(["a'b", "c"]) == "['a\\'b','c']"
    assert engine.param_text(True) == "1"
    with pytest.raises(engine.EngineError):
        engine.param_text(datetime(2026, 12, 6))
    assert engine.run("SELECT {t:DateTime64(3, 'UTC')} AS t, {xs:Array(String)} AS xs",
                      {"t": aware, "xs": ["a'b", "c"]}) == [(aware, ["a'b", "c"])]


def test_days_narrow_the_files_read(lake, user):
    post = PostFactory()
    old = now_ms() - 3 * 86_400_000
    send(user, [event("impression", post_id=post.pk, ts=old),
                event("impression", post_id=post.pk, ts=T0)])
    writer.lake_flush(consumer="t")
    old_day = datetime.fromtimestamp(old / 1000, tz=UTC).date()
    today = datetime.fromtimestamp(T0 / 1000, tz=UTC).date()
    sql = "SELECT count() AS n FROM events"
    assert engine.run(sql) == [(2,)]
    assert engine.run(sql, days=(today, today)) == [(1,)]
    assert engine.run(sql, days=(old_day, today)) == [(2,)]
    assert engine.run(sql, days=(today, old_day)) == [(0,)]  # an empty range: nothing
