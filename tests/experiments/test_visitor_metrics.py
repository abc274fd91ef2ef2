"""A signed-out visitor known by its device cookie, end to end: assigned to an arm through the
flags API, its events sent through the events API (which stamps the device id), written to
the lake by the lake's consumer, and measured by the analysis (not zeros, not unmeasured).
Also: which device ids the events API accepts, and that lake files from before the
`device_id` column read it as NULL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.analytics.lake import columns, engine, storage, writer
from apps.events import devices
from apps.experiments import services
from apps.experiments.analysis import analyze_experiment
from apps.experiments.models import Assignment, ExperimentMetric, Metric
from apps.experiments.standard_metrics import seed_standard_metrics
from tests.content.factories import PostFactory
from tests.events.helpers import URL as EVENTS_URL
from tests.events.helpers import event, logged_batches
from tests.experiments.flag_helpers import STAFF, fresh_config, ranker_flag

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_config")]
__all__ = ["fresh_config"]


@pytest.fixture
def lake(settings: Any, tmp_path: Path) -> Path:
    settings.LAKE_ROOT = tmp_path / "lake"
    settings.LAKE_S3_BUCKET = ""
    settings.CLICKHOUSE_URL = ""
    return tmp_path / "lake"


def _visitor(device: str) -> APIClient:
    client = APIClient()
    client.cookies[devices.DEVICE_COOKIE] = device
    return client


def test_a_cookie_visitor_is_assigned_sends_events_and_is_measured(lake):
    seed_standard_metrics(Metric)
    ranker_flag()
    layer = services.layer_create(actor=STAFF, key="visitors")
    exp = services.experiment_create(
        actor=STAFF,
        key="exp-visitors",
        layer=layer,
        traffic_percent=100.0,
        holdout_percent=0.0,
        conditions=None,
        arms=[
            {"key": "control", "weight": 1, "values": {}},
            {"key": "treatment", "weight": 1, "values": {"feed.ranker": "v2"}},
        ],
    )
    ExperimentMetric.objects.create(
        experiment=exp, metric=Metric.objects.get(key="watch_time"), role="primary"
    )
    exp = services.experiment_start(actor=STAFF, experiment=exp)
    post = PostFactory()
    watched: dict[str, float] = {}
    for n in range(8):
        device = f"visitor-{n:04d}-cookie"
        client = _visitor(device)
        used = client.post(
            "/api/v1/flags/exposures", {"experiments": ["exp-visitors"]}, format="json"
        )
        assert used.status_code == 200, used.content
        assert used.json() == {"recorded": 1}
        # the client's events carry a tab session id, not the device id: only the stamp
        # the events API adds ties them to the visitor's unit
        ms = 10_000 * (n + 1)
        sent = client.post(
            EVENTS_URL,
            {
                "events": [
                    event("play_start", post_id=post.pk, session_id=f"tab-{n}"),
                    event(
                        "watch_end",
                        post_id=post.pk,
                        session_id=f"tab-{n}",
                        watched_ms=ms,
                        duration_ms=60_000,
                    ),
                ]
            },
            format="json",
        )
        assert sent.status_code == 200, sent.content
        assert sent.json()["accepted"] == 2
        watched[f"d:{device}"] = ms / 60_000  # watch time is in minutes
    # a visitor that never sent an event: assigned, counted in the SRM check, unmeasured
    silent = _visitor("visitor-silent")
    assert silent.post(
        "/api/v1/flags/exposures", {"experiments": ["exp-visitors"]}, format="json"
    ).json() == {"recorded": 1}
    stamped = [
        b.client.get("device_id") for b in logged_batches() if b.client.get("auth") != "server"
    ]
    assert stamped == [f"visitor-{n:04d}-cookie" for n in range(8)]

    report = writer.lake_flush(consumer="t")
    assert not report.failed
    assert report.events == 8 * 2 + 9  # the client events and the server's exposures

    results = analyze_experiment(exp, as_of=timezone.now() + timedelta(minutes=1))

    arms = dict(Assignment.objects.filter(experiment=exp).values_list("unit", "arm"))
    assert set(arms) == {*watched, "d:visitor-silent"}
    row = next(r for r in results.comparisons["raw"] if r.metric == "watch_time")
    for arm, value in [("control", row.control_value), ("treatment", row.treatment_value)]:
        mine = [watched[u] for u, a in arms.items() if a == arm and u in watched]
        if mine:
            assert value == pytest.approx(sum(mine) / len(mine)), arm
    assert row.n_control + row.n_treatment == 8
    assert results.unmeasured == 1
    assert sum(results.counts.values()) == 9


@pytest.mark.parametrize(
    ("header", "cookie", "stamped"),
    [
        ("ios-install-7f3a", "web-cookie-1", "ios-install-7f3a"),  # the header wins
        (None, "0b6f1c2e-8f5d-4c1a-9a47-2a6c5e8b9d10", "0b6f1c2e-8f5d-4c1a-9a47-2a6c5e8b9d10"),
        ("has spaces in it", "web-cookie-1", None),  # a bad header is no device at all
        ("x" * 65, None, None),
        (None, "quote'and;semicolon", None),
        (None, None, None),
    ],
)
def test_the_events_api_stamps_only_an_acceptable_device_id(header, cookie, stamped):
    client = APIClient()
    if cookie is not None:
        client.cookies[devices.DEVICE_COOKIE] = cookie
    extra = {"HTTP_X_DEVICE_ID": header} if header is not None else {}
    post = PostFactory()
    body = {"events": [event("impression", post_id=post.pk, session_id="s-1")]}
    response = client.post(EVENTS_URL, body, format="json", **extra)
    assert response.status_code == 200, response.content
    [batch] = logged_batches()
    assert batch.client.get("device_id") == stamped


def test_lake_files_from_before_the_device_id_column_read_it_as_null(lake):
    old = pa.schema([f for f in columns.arrow_schema() if f.name != "device_id"])
    at = timezone.now() - timedelta(hours=2)
    row: dict[str, Any] = {f.name: None for f in old}
    row.update(
        event_id="old/0",
        client_event_id="c",
        type="impression",
        ts=at,
        received_at=at,
        session_id="s-old",
        data="{}",
    )
    table = pa.Table.from_pylist([row], schema=old)
    lake_store = storage.lake_storage()
    at_ms = int(at.timestamp() * 1000)
    storage.write_table(lake_store, storage.new_name(storage.Partition.of_ms(at_ms), "part"), table)
    assert "device_id" not in pq.read_schema(next(lake.rglob("*.parquet"))).names
    assert engine.run("SELECT session_id AS s, device_id AS d FROM events") == [("s-old", None)]
