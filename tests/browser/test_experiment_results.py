"""The experiment results page as staff meet it, in the real browser: an experiment whose
treatment lifts watch time (analysed from Parquet events by chdb) shows its effects,
always-valid intervals, BH-adjusted p-values, CUPED on and off, a chart per metric and
"Ship"; an experiment with a sample-ratio mismatch shows only the block and its reason."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from playwright.sync_api import Page

from apps.experiments.analysis import snapshot_experiment
from apps.experiments.models import Assignment, Experiment, ExperimentMetric, Layer, Metric
from apps.experiments.standard_metrics import seed_standard_metrics
from tests.browser.conftest import DESKTOP, screenshot
from tests.experiments.lake_data import lake_event, write_events
from tests.factories import UserFactory

NOW = datetime.now(tz=UTC).replace(microsecond=0)
START = NOW - timedelta(days=6, hours=2)


@pytest.fixture
def lake(tmp_path: Path) -> Iterator[Path]:
    """This process's lake (the page only reads the stored snapshot)."""
    previous = settings.LAKE_ROOT, settings.CLICKHOUSE_URL
    settings.LAKE_ROOT = tmp_path / "lake"
    settings.CLICKHOUSE_URL = ""
    yield tmp_path / "lake"
    settings.LAKE_ROOT, settings.CLICKHOUSE_URL = previous


def _experiment(
    key: str, *, units: int, treatment_share: float, lift: float, seed: int
) -> Experiment:
    seed_standard_metrics(Metric)
    layer = Layer.objects.create(key=f"layer-{key}")
    experiment = Experiment.objects.create(
        key=key,
        name=key.replace("-", " ").title(),
        layer=layer,
        bucket_start=0,
        bucket_end=10_000,
        status=Experiment.Status.RUNNING,
        started_at=START,
        arms=[
            {"key": "control", "weight": 50, "values": {}},
            {"key": "treatment", "weight": 50, "values": {}},
        ],
    )
    for metric, role in [
        ("watch_time", "primary"),
        ("errors_per_user", "guardrail"),
        ("likes_per_user", "secondary"),
    ]:
        ExperimentMetric.objects.create(
            experiment=experiment, role=role, metric=Metric.objects.get(key=metric)
        )
    rng = np.random.default_rng(seed)
    rows, events = [], []
    for n in range(units):
        arm = "treatment" if rng.random() < treatment_share else "control"
        unit_id = seed * 1_000_000 + n
        exposed = START + timedelta(minutes=int(rng.integers(0, 5 * 24 * 60)))
        rows.append(
            Assignment(
                experiment=experiment,
                unit=f"u:{unit_id}",
                arm=arm,
                salt=experiment.salt,
                first_exposed_at=exposed,
            )
        )
        habit = rng.gamma(2.0, 60_000)
        pre = habit * rng.uniform(0.6, 1.4)
        events.append(
            lake_event(
                "watch_end",
                START - timedelta(days=3),
                user_id=unit_id,
                watched_ms=int(pre),
                duration_ms=600_000,
            )
        )
        watched = habit * rng.uniform(0.6, 1.4) * (1 + lift * (arm == "treatment"))
        at = exposed + timedelta(minutes=int(rng.integers(1, 600)))
        if at < NOW:
            events.append(
                lake_event(
                    "watch_end", at, user_id=unit_id, watched_ms=int(watched), duration_ms=600_000
                )
            )
            if rng.random() < 0.3:
                events.append(lake_event("like", at, user_id=unit_id))
            if rng.random() < 0.05:
                events.append(lake_event("qoe", at, user_id=unit_id, error="decode"))
    Assignment.objects.bulk_create(rows)
    write_events(events)
    snapshot_experiment(experiment, as_of=NOW)
    return experiment


def test_the_results_page_shows_effects_chart_and_recommendation(
    lake: Path, logged_in_page: Callable[..., Page]
):
    experiment = _experiment("ranker-v2-watch", units=3000, treatment_share=0.5, lift=0.25, seed=1)
    staff = UserFactory(is_staff=True, is_superuser=True, username="exp-analyst")
    page = logged_in_page(staff, viewport=DESKTOP)

    page.goto("/django-admin/experiments/experiment/")
    page.click(f"a[href$='/resultsnapshot/experiment/{experiment.pk}/']")
    page.wait_for_selector("#exp-metrics")
    verdict = page.locator("#exp-verdict-treatment")
    assert verdict.inner_text().startswith("Ship")
    assert "Watch time per user improved significantly" in verdict.inner_text()
    watch = page.locator("tr[data-metric='watch_time']")
    assert "better" in watch.inner_text()
    assert "on, variance" in watch.inner_text()  # CUPED used the pre-period
    assert page.locator("svg.exp-chart").count() == 3
    assert page.locator("svg.exp-chart polygon").count() == 3  # the interval bands
    screenshot(page, "experiment-results-desktop", full_page=True)

    page.click("#exp-cuped-off")
    page.wait_for_selector("#exp-cuped-on")
    assert "on, variance" not in page.locator("tr[data-metric='watch_time']").inner_text()
    screenshot(page, "experiment-results-cuped-off-desktop")


def test_a_sample_ratio_mismatch_blocks_the_results_with_its_reason(
    lake: Path, logged_in_page: Callable[..., Page]
):
    experiment = _experiment("broken-redirect", units=3000, treatment_share=0.44, lift=0.25, seed=2)
    staff = UserFactory(is_staff=True, is_superuser=True, username="exp-analyst-2")
    page = logged_in_page(staff, viewport=DESKTOP)

    page.goto(f"/django-admin/experiments/resultsnapshot/experiment/{experiment.pk}/")
    block = page.locator("#exp-srm")
    assert "Results blocked" in block.inner_text()
    assert "Sample ratio mismatch" in block.inner_text()
    assert "treatment:" in block.inner_text()
    assert page.locator("#exp-metrics").count() == 0
    assert page.locator("svg.exp-chart").count() == 0
    screenshot(page, "experiment-results-srm-desktop")
