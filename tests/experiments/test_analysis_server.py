"""The engine's ClickHouse-server path (CLICKHOUSE_URL, clickhouse-connect over HTTP), run
against a local stand-in of ClickHouse's HTTP interface whose SQL is executed by chdb
(tests/analytics/lake/clickhouse_standin.py): the experiment-analysis query with its
parameters and its side table sent as external data gives the same answer as the in-process
chdb path over the same lake files. It proves the wire path (the request clickhouse-connect
builds, parameter binding, external data, Arrow results, errors), not a real server's
S3 access, authentication or version (see docs/architecture.md)."""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import numpy as np
import pytest

from apps.analytics.lake import engine
from apps.experiments.analysis import analyze_experiment
from apps.experiments.analysis.load import load_measures
from apps.experiments.models import Assignment, Experiment, ExperimentMetric, Layer, Metric
from apps.experiments.models.metrics import Aggregation, Measure, Source
from apps.experiments.standard_metrics import seed_standard_metrics
from tests.analytics.lake import clickhouse_standin
from tests.experiments.lake_data import lake_event, write_events

pytestmark = pytest.mark.django_db

NOW = datetime.now(tz=UTC).replace(microsecond=0)
START = NOW - timedelta(days=2, hours=3)


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """The stand-in's URL; SWIPEME_TEST_CLICKHOUSE_URL names a real server instead (one that
    can read this machine's lake directory with file(): the same host)."""
    real = os.environ.get("SWIPEME_TEST_CLICKHOUSE_URL", "")
    if real:
        yield real
        return
    proc, port = clickhouse_standin.start()
    try:
        yield f"http://default:secret@127.0.0.1:{port}/default"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def lake(settings: Any, tmp_path: Path, server_url: str) -> Path:
    settings.LAKE_ROOT = tmp_path / "lake"
    settings.LAKE_S3_BUCKET = ""
    settings.CLICKHOUSE_URL = ""
    return tmp_path / "lake"


def _on_server(settings: Any, url: str) -> None:
    """Point the engine at the stand-in and give the server its `events` view over the lake
    (server_events_ddl, as an operator would run it)."""
    settings.CLICKHOUSE_URL = url
    client = engine.server_client()
    try:
        client.command("DROP VIEW IF EXISTS events")
        client.command(engine.server_events_ddl())
    finally:
        client.close()


def _data() -> tuple[list[str], list[datetime]]:
    """Users and visitors (one known by its stamped device id, one by its session) with
    watch time, likes, QoE and a return on day 1; the pre-period too."""
    rng = np.random.default_rng(7)
    events: list[dict[str, Any]] = []
    units: list[tuple[str, datetime]] = []
    who: dict[str, Any]
    for n in range(30):
        exposed = START + timedelta(hours=int(rng.integers(1, 20)))
        if n % 3 == 0:
            unit, who = f"d:device-{n}", {"session_id": f"tab-{n}", "device_id": f"device-{n}"}
        elif n % 3 == 1:
            unit, who = f"d:session-{n}", {"session_id": f"session-{n}"}
        else:
            unit, who = f"u:{1000 + n}", {"user_id": 1000 + n, "session_id": f"s-{n}"}
        units.append((unit, exposed))
        for k in range(int(rng.integers(0, 6))):
            at = exposed + timedelta(minutes=int(rng.integers(0, 2_500)))
            if at < NOW:
                events.append(
                    lake_event(
                        "watch_end", at, watched_ms=1_000 * (n + k), duration_ms=60_000, **who
                    )
                )
        events.append(lake_event("like", exposed + timedelta(minutes=3), **who))
        events.append(lake_event("qoe", exposed + timedelta(minutes=1), ttff_ms=100 + n, **who))
        events.append(
            lake_event(
                "watch_end",
                START - timedelta(days=3),
                watched_ms=500 * n,
                duration_ms=60_000,
                **who,
            )
        )
        if n % 4 == 0:
            events.append(lake_event("play_start", exposed + timedelta(hours=30), **who))
    write_events(events)
    units.sort()
    return [u for u, _ in units], [e for _, e in units]


MEASURES = [
    Measure(Source.EVENTS, "watch_end", Aggregation.SUM, "watched_ms", "", None),
    Measure(Source.EVENTS, "like", Aggregation.COUNT, "", "", None),
    Measure(Source.EVENTS, "qoe", Aggregation.WITH_FIELD, "ttff_ms", "", None),
    Measure(Source.EVENTS, "", Aggregation.DISTINCT, "session_id", "", None),
    Measure(Source.EVENTS, "", Aggregation.RETURNED, "", "", 1),
]


def test_the_analysis_query_through_clickhouse_url_matches_in_process_chdb(
    lake, settings, server_url
):
    units, exposed = _data()
    args: dict[str, Any] = {
        "units": np.array(units, dtype=str),
        "first_exposed": exposed,
        "start": START,
        "end": NOW,
        "days": 3,
        "pre_days": 14,
    }
    local = load_measures(MEASURES, **args)
    assert all(m.sum() > 0 for m in local)  # every measure has something to compare
    # both kinds of visitor are measured (the stamped device id, the session id)
    assert local[1][units.index("d:device-0")].sum() == 1
    assert local[1][units.index("d:session-1")].sum() == 1

    _on_server(settings, server_url)
    assert engine.backend() == "clickhouse"
    remote = load_measures(MEASURES, **args)

    for mine, theirs in zip(local, remote, strict=True):
        np.testing.assert_allclose(theirs, mine)
    if os.environ.get("SWIPEME_TEST_CLICKHOUSE_URL"):
        return  # a real server keeps no log of what it was asked
    asked = clickhouse_standin_log(server_url)
    analysis = [r for r in asked if "INNER JOIN assignments" in r["query"]]
    assert analysis, "the analysis query did not reach the server"
    assert analysis[-1]["files"] == ["assignments"]  # the side table as external data
    assert "param_start" in analysis[-1]["args"]
    assert analysis[-1]["auth"]


def test_a_whole_analysis_and_errors_through_the_server(lake, settings, server_url):
    seed_standard_metrics(Metric)
    units, exposed = _data()
    experiment = Experiment.objects.create(
        key="server-path",
        layer=Layer.objects.create(key="server-layer"),
        bucket_start=0,
        bucket_end=10_000,
        arms=[{"key": "a", "weight": 50, "values": {}}, {"key": "b", "weight": 50, "values": {}}],
        status=Experiment.Status.RUNNING,
        started_at=START,
    )
    for key, role in [
        ("watch_time", "primary"),
        ("likes_per_user", "guardrail"),
        ("retention_d1", "secondary"),
    ]:
        ExperimentMetric.objects.create(
            experiment=experiment, metric=Metric.objects.get(key=key), role=role
        )
    Assignment.objects.bulk_create(
        Assignment(
            experiment=experiment, unit=u, arm="ab"[i % 2], salt=experiment.salt, first_exposed_at=e
        )
        for i, (u, e) in enumerate(zip(units, exposed, strict=True))
    )
    local = analyze_experiment(experiment, as_of=NOW)
    _on_server(settings, server_url)
    remote = analyze_experiment(experiment, as_of=NOW)
    assert remote.counts == local.counts
    assert remote.unmeasured == local.unmeasured == 0
    for mine, theirs in zip(local.comparisons["raw"], remote.comparisons["raw"], strict=True):
        assert (theirs.metric, theirs.n_control, theirs.n_treatment) == (
            mine.metric,
            mine.n_control,
            mine.n_treatment,
        )
        assert theirs.control_value == pytest.approx(mine.control_value)
        assert theirs.treatment_value == pytest.approx(mine.treatment_value)

    # the server's refusals reach the caller as the engine's error, with the server's text
    with pytest.raises(engine.EngineError, match=r"UNKNOWN_IDENTIFIER|Unknown expression"):
        engine.run("SELECT no_such_column AS x FROM events")
    with pytest.raises(engine.EngineError, match=r"SYNTAX_ERROR|Syntax error"):
        engine.run("SELEC 1")


def clickhouse_standin_log(url: str) -> list[dict[str, Any]]:
    port = urlsplit(url).port
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_log", timeout=10) as response:
        return list(json.loads(response.read()))
