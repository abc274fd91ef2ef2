"""QoE figures as experiment guardrails (issue 22): time to first frame p95 (a quantile
metric) and the rebuffer ratio (a ratio metric) per arm from the real lake, equal to the
values computed here from the same events; a treatment that slows the first frame is
flagged as a harmed guardrail and not shipped; the quantile's variance on a hand case."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from django.core.exceptions import ValidationError

from apps.experiments.analysis import analyze_experiment
from apps.experiments.models import Assignment, Experiment, ExperimentMetric, Layer, Metric
from apps.experiments.standard_metrics import seed_standard_metrics
from apps.experiments.stats import quantile_summary, ratio_summary
from tests.experiments.lake_data import lake_event, write_events
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime.now(tz=UTC).replace(microsecond=0)
START = NOW - timedelta(days=2, hours=1)


@pytest.fixture
def lake(settings: Any, tmp_path: Path) -> Path:
    settings.LAKE_ROOT = tmp_path / "lake"
    settings.LAKE_S3_BUCKET = ""
    settings.CLICKHOUSE_URL = ""
    seed_standard_metrics(Metric)  # a flushed database (a browser module's end) lacks them
    return tmp_path / "lake"


def _rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.floor(q * len(ordered)))]


def test_ttff_p95_and_rebuffer_ratio_per_arm_as_guardrails(lake):
    layer = Layer.objects.create(key="qoe-layer")
    experiment = Experiment.objects.create(
        key="start-rung",
        layer=layer,
        bucket_start=0,
        bucket_end=10_000,
        arms=[
            {"key": "control", "weight": 50, "values": {}},
            {"key": "low-start", "weight": 50, "values": {}},
        ],
        status=Experiment.Status.RUNNING,
        started_at=START,
    )
    for key, role in (
        ("watch_time", "primary"),
        ("ttff_p95", "guardrail"),
        ("rebuffer_ratio", "guardrail"),
    ):
        ExperimentMetric.objects.create(
            experiment=experiment, metric=Metric.objects.get(key=key), role=role
        )
    rng = np.random.default_rng(22)
    ttff: dict[str, list[float]] = {"control": [], "low-start": []}
    stall: dict[str, list[float]] = {"control": [0.0, 0.0], "low-start": [0.0, 0.0]}
    events: list[dict[str, Any]] = []
    for n in range(60):
        user = UserFactory()
        arm = "control" if n % 2 == 0 else "low-start"
        exposed = START + timedelta(hours=int(rng.integers(1, 20)))
        Assignment.objects.create(
            experiment=experiment,
            unit=f"u:{user.pk}",
            arm=arm,
            salt=experiment.salt,
            first_exposed_at=exposed,
        )
        for k in range(int(rng.integers(2, 6))):
            at = exposed + timedelta(minutes=10 + 7 * k)
            watched = int(rng.integers(2_000, 30_000))
            first_frame = int(rng.normal(300 if arm == "control" else 900, 40))
            rebuffer = int(rng.integers(0, 3)) * 250
            events.append(
                lake_event(
                    "watch_end",
                    at,
                    user_id=user.pk,
                    session_id=f"s{n}",
                    post_id=5000 + k,
                    watched_ms=watched,
                    duration_ms=30_000,
                )
            )
            events.append(
                lake_event(
                    "qoe",
                    at + timedelta(milliseconds=2),
                    user_id=user.pk,
                    session_id=f"s{n}",
                    post_id=5000 + k,
                    ttff_ms=first_frame,
                    rebuffer_ms=rebuffer,
                    rebuffer_count=rebuffer // 250,
                )
            )
            ttff[arm].append(first_frame)
            stall[arm][0] += rebuffer
            stall[arm][1] += watched
        # before exposure: counts for neither guardrail
        events.append(
            lake_event(
                "qoe",
                exposed - timedelta(minutes=3),
                user_id=user.pk,
                session_id=f"s{n}",
                ttff_ms=60_000,
                rebuffer_ms=60_000,
            )
        )
    write_events(events)

    results = analyze_experiment(experiment, as_of=NOW)

    rows = {c.metric: c for c in results.comparisons["raw"]}
    p95 = rows["ttff_p95"]
    assert (p95.control_value, p95.treatment_value) == (
        _rank(ttff["control"], 0.95),
        _rank(ttff["low-start"], 0.95),
    )
    assert (p95.n_control, p95.n_treatment) == (30, 30)
    ratio = rows["rebuffer_ratio"]
    assert ratio.control_value == pytest.approx(100 * stall["control"][0] / stall["control"][1])
    assert ratio.treatment_value == pytest.approx(
        100 * stall["low-start"][0] / stall["low-start"][1]
    )
    # the slower first frame is a significant harm: the guardrail blocks shipping
    assert p95.role == "guardrail"
    assert p95.significant
    assert not p95.improved
    verdict = results.verdicts["raw"][0]
    assert verdict.decision == "dont_ship"
    assert any("Time to first frame p95" in reason for reason in verdict.reasons)


def test_quantile_summary_by_hand():
    # three users, clustered values; q = 0.5 of 8 values: rank 4 of the sorted list
    values = [100, 200, 300, 400, 500, 600, 700, 800]
    units = [1, 1, 1, 2, 2, 3, 3, 3]
    summary = quantile_summary(values, units, 0.5)
    assert (summary.n, summary.estimate) == (3, 500.0)
    # the CDF at 500: per-user counts at or below it (3, 2, 0) over (3, 2, 3), delta method
    sd = ratio_summary([3, 2, 0], [3, 2, 3]).std_error
    low = sorted(values)[max(0, math.floor((0.5 - 1.959963984540054 * sd) * 8))]
    high = sorted(values)[min(7, math.floor((0.5 + 1.959963984540054 * sd) * 8))]
    assert summary.variance == pytest.approx(((high - low) / (2 * 1.959963984540054)) ** 2)
    assert quantile_summary([5], [1], 0.95).variance == math.inf  # one user: no test


def test_quantile_metric_definitions_are_checked(lake):
    metric = Metric(
        key="bad-q",
        name="q",
        kind="quantile",
        numerator_event_type="qoe",
        numerator_aggregation="sum",
        numerator_field="ttff_ms",
        quantile=1.5,
    )
    with pytest.raises(ValidationError) as refused:
        metric.full_clean()
    assert "choose 'values'" in str(refused.value)
    assert "between 0 and 1" in str(refused.value)
    mean_with_values = Metric(
        key="bad-v",
        name="v",
        kind="mean",
        numerator_event_type="qoe",
        numerator_aggregation="values",
        numerator_field="error",
    )
    with pytest.raises(ValidationError) as refused:
        mean_with_values.full_clean()
    assert "Only a quantile metric takes a field's values." in str(refused.value)
    assert "not a numeric field" in str(refused.value)
    Metric.objects.get(key="ttff_p95").full_clean()  # the standard one is valid
