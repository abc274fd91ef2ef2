"""Shared set-up for the flags and experiments tests (tests/experiments/test_flags_*.py)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from apps.experiments import config, services
from apps.experiments.models import Experiment, ExperimentMetric, Layer, Metric

STAFF: Any = None  # automation as the actor unless a test names one


@pytest.fixture(autouse=True)
def fresh_config() -> Iterator[None]:
    config.forget()
    yield
    config.forget()


def ranker_flag(**kw: Any) -> Any:
    return services.flag_save(
        actor=STAFF,
        key="feed.ranker",
        kind="multivariate",
        default_value="active",
        variations=["active", "heuristic", "v2"],
        **kw,
    )


def standard_metric() -> Metric:
    """The first standard metric. Migration 0003 seeds them, but a transactional test's flush
    earlier in the same database (two xdist workers) empties the table: seed them again then."""
    from apps.experiments.standard_metrics import seed_standard_metrics

    if not Metric.objects.exists():
        seed_standard_metrics(Metric)
    metric = Metric.objects.order_by("id").first()
    assert metric is not None
    return metric


def primary_metric(exp: Experiment) -> None:
    metric = standard_metric()
    ExperimentMetric.objects.create(
        experiment=exp, metric=metric, role=ExperimentMetric.Role.PRIMARY
    )


def running_experiment(
    key: str,
    layer: Layer,
    *,
    traffic: float = 100.0,
    holdout: float = 0.0,
    arms: list[dict[str, Any]] | None = None,
    conditions: dict[str, Any] | None = None,
) -> Experiment:
    exp = services.experiment_create(
        actor=STAFF,
        key=key,
        layer=layer,
        traffic_percent=traffic,
        holdout_percent=holdout,
        conditions=conditions,
        arms=arms
        or [
            {"key": "control", "weight": 1, "values": {}},
            {"key": "treatment", "weight": 1, "values": {"feed.ranker": "v2"}},
        ],
    )
    primary_metric(exp)
    return services.experiment_start(actor=STAFF, experiment=exp)
