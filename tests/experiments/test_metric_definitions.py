"""Metric definitions: the seeded standard metrics are valid, bad definitions are refused with
errors that say what is wrong, and an experiment has at most one primary metric."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from apps.experiments.models import Experiment, ExperimentMetric, Layer, Metric
from apps.experiments.standard_metrics import seed_standard_metrics

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _standard_metrics(db: None) -> None:
    """Migration 0003 seeds them; a flush (a browser module's end) removes them."""
    seed_standard_metrics(Metric)


STANDARD_KEYS = {
    "watch_time",
    "sessions",
    "retention_d1",
    "retention_d7",
    "likes_per_user",
    "shares_per_user",
    "follows_per_user",
    "time_to_first_frame",
    "rebuffers_per_play",
    "errors_per_user",
    "revenue_per_user",
    "rebuffer_ratio",
    "ttff_p95",
}


def test_the_standard_metrics_are_seeded_and_valid():
    metrics = {m.key: m for m in Metric.objects.all()}
    assert set(metrics) >= STANDARD_KEYS
    for key in STANDARD_KEYS:
        metrics[key].full_clean()  # raises on an invalid seed
    assert metrics["time_to_first_frame"].kind == Metric.Kind.RATIO
    assert metrics["time_to_first_frame"].denominator is not None
    assert not metrics["errors_per_user"].higher_is_better
    assert metrics["watch_time"].numerator.event_types == ("watch_end", "skip")


def _metric(**fields: object) -> Metric:
    base: dict[str, object] = {
        "key": "m",
        "name": "M",
        "numerator_event_type": "like",
        "numerator_aggregation": "count",
    }
    base.update(fields)
    return Metric(**base)


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        (
            {"numerator_event_type": "like,teleport"},
            "numerator_event_type",
            "Unknown event type 'teleport'",
        ),
        (
            {
                "numerator_aggregation": "sum",
                "numerator_field": "source",
                "numerator_event_type": "play_start",
            },
            "numerator_field",
            "not a numeric field",
        ),
        (
            {
                "numerator_aggregation": "sum",
                "numerator_field": "watched_ms",
                "numerator_event_type": "watch_end,like",
            },
            "numerator_field",
            "not a numeric field",
        ),
        ({"numerator_aggregation": "returned"}, "numerator_day", "needs its day"),
        ({"kind": "ratio"}, "denominator_aggregation", "needs its denominator"),
        (
            {"kind": "ratio", "denominator_aggregation": "count", "denominator_event_type": "warp"},
            "denominator_event_type",
            "Unknown event type",
        ),
        ({"denominator_aggregation": "count"}, "kind", "A mean metric has no denominator"),
        (
            {"numerator_source": "table", "numerator_table": "tips"},
            "numerator_table",
            "Unknown table source 'tips'",
        ),
        (
            {"numerator_aggregation": "distinct", "numerator_field": "nope"},
            "numerator_field",
            "neither an event column",
        ),
    ],
)
def test_bad_definitions_are_refused_in_words(fields, field, words):
    with pytest.raises(ValidationError) as info:
        _metric(**fields).full_clean()
    messages = info.value.message_dict
    assert field in messages
    assert words in " ".join(messages[field])


def test_good_definitions_pass():
    _metric(
        numerator_event_type="watch_end,skip",
        numerator_aggregation="sum",
        numerator_field="watched_ms",
    ).full_clean()
    _metric(
        kind="ratio",
        numerator_event_type="qoe",
        numerator_aggregation="sum",
        numerator_field="ttff_ms",
        denominator_event_type="play_start",
        denominator_aggregation="count",
    ).full_clean()
    _metric(
        numerator_source="table", numerator_table="revenue", numerator_aggregation="sum"
    ).full_clean()


def test_an_experiment_has_one_primary_metric():
    layer = Layer.objects.create(key="l1")
    experiment = Experiment.objects.create(key="e1", layer=layer)
    watch, likes = Metric.objects.get(key="watch_time"), Metric.objects.get(key="likes_per_user")
    ExperimentMetric.objects.create(experiment=experiment, metric=watch, role="primary")
    with pytest.raises(IntegrityError), transaction.atomic():
        ExperimentMetric.objects.create(experiment=experiment, metric=likes, role="primary")
    ExperimentMetric.objects.create(experiment=experiment, metric=likes, role="guardrail")
    assert experiment.metric_links.count() == 2
