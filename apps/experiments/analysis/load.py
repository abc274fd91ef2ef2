"""Loading an experiment's data for the analysis: assignments from PostgreSQL, measures from
the event lake (one query) and the table sources, into analysis.compute's arrays."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from django.utils import timezone

from apps.analytics.lake import engine
from apps.experiments.analysis.compute import (
    DAY_MS,
    ExperimentResults,
    MetricSpec,
    Plan,
    UnitTable,
    analyze,
    look_count,
)
from apps.experiments.analysis.sql import measures_query
from apps.experiments.metric_sources import table_sources
from apps.experiments.models import Assignment, Experiment, ExperimentMetric, ResultSnapshot
from apps.experiments.models.metrics import Aggregation, Measure, Source
from apps.experiments.stats import PRE_PERIOD_DAYS

ROLE_ORDER = {"primary": 0, "guardrail": 1, "secondary": 2}


class AnalysisError(Exception):
    """The experiment cannot be analysed (not started, no arms, no primary metric); in words."""


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def experiment_plan(experiment: Experiment, as_of: datetime) -> Plan:
    arms = [a for a in (experiment.arms or []) if isinstance(a, dict) and a.get("key")]
    if len(arms) < 2:
        raise AnalysisError("The experiment needs at least two arms to compare.")
    if experiment.started_at is None:
        raise AnalysisError("The experiment has not started: there is nothing to analyse.")
    holdout = float(experiment.holdout_percent or 0)
    total = sum(float(a.get("weight", 0)) for a in arms) or 1.0
    shares = [(str(a["key"]), (100 - holdout) * float(a.get("weight", 0)) / total) for a in arms]
    if holdout > 0:
        shares.append(("holdout", holdout))
    return Plan(
        arms=shares,
        start_ms=_ms(experiment.started_at),
        as_of_ms=_ms(as_of),
        ended=experiment.status == Experiment.Status.STOPPED,
    )


def _retention_day(measure: Measure | None) -> int | None:
    if measure is not None and measure.aggregation == Aggregation.RETURNED:
        return measure.day
    return None


def analyze_experiment(
    experiment: Experiment, *, as_of: datetime | None = None, pre_days: int = PRE_PERIOD_DAYS
) -> ExperimentResults:
    if as_of is None:
        as_of = experiment.stopped_at or timezone.now()
    plan = experiment_plan(experiment, as_of)
    links = sorted(
        ExperimentMetric.objects.filter(experiment=experiment).select_related("metric"),
        key=lambda ln: (ROLE_ORDER[ln.role], ln.metric.key),
    )
    if not any(link.role == ExperimentMetric.Role.PRIMARY for link in links):
        raise AnalysisError("The experiment has no primary metric: add one in its metrics.")
    measures: list[Measure] = []
    specs: list[MetricSpec] = []

    def index(measure: Measure) -> int:
        if measure not in measures:
            measures.append(measure)
        return measures.index(measure)

    for link in links:
        metric = link.metric
        denominator = metric.denominator
        specs.append(
            MetricSpec(
                key=metric.key,
                name=metric.name,
                role=link.role,
                ratio=denominator is not None,
                higher_is_better=metric.higher_is_better,
                unit=metric.unit,
                scale=metric.scale or 1.0,
                numerator=index(metric.numerator),
                denominator=index(denominator) if denominator is not None else None,
                cuped=metric.uses_cuped,
                numerator_retention_day=_retention_day(metric.numerator),
                denominator_retention_day=_retention_day(denominator),
                quantile=metric.quantile if metric.kind == metric.Kind.QUANTILE else None,
            )
        )
    rows = list(
        Assignment.objects.filter(
            experiment=experiment, salt=experiment.salt, first_exposed_at__lt=as_of
        )
        .order_by("unit")
        .values_list("unit", "arm", "first_exposed_at")
    )
    units = np.array([r[0] for r in rows], dtype=str)
    table = UnitTable(
        arms=np.array([r[1] for r in rows], dtype=str),
        first_exposed_ms=np.array([_ms(r[2]) for r in rows], dtype=np.int64),
        measures=[],
    )
    days = look_count(plan)
    start = experiment.started_at
    assert start is not None  # experiment_plan refused it otherwise
    # Which units the metrics can see: signed-in users always; a visitor when some client
    # event of it reached the lake (its device id, the cookie or X-Device-Id the events API
    # stamps, or its For You session id: analysis.sql's UNIT_SQL). A visitor with no client
    # event at all (a client that never sent any, or events only in files older than the
    # device_id column) would read as zeros: it counts in the sample-ratio check only.
    activity = index(Measure(Source.EVENTS, "", Aggregation.COUNT, "", "", None))
    table.measures = load_measures(
        measures,
        values=table.values,
        units=units,
        first_exposed=[r[2] for r in rows],
        start=start,
        end=as_of,
        days=days,
        pre_days=pre_days,
    )
    is_user = np.char.startswith(units, "u:") if len(units) else np.zeros(0, dtype=bool)
    table.measured = is_user | (table.measures[activity].sum(axis=1) > 0)
    return analyze(table, specs, plan)


def load_measures(
    measures: list[Measure],
    *,
    units: np.ndarray,
    first_exposed: list[datetime],
    start: datetime,
    end: datetime,
    days: int,
    pre_days: int,
    values: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] | None = None,
) -> list[np.ndarray]:
    """One (units, 1 + days) array per measure; `units` sorted. A `values` measure (a
    quantile metric's) leaves its array zero and its values in `values[index]` as
    (unit row, day column, value) arrays."""
    out = [np.zeros((len(units), days + 1)) for _ in measures]
    if not len(units):
        return out
    events = [i for i, m in enumerate(measures) if m.source == Source.EVENTS]
    if events:
        query = measures_query(
            [measures[i] for i in events], start=start, end=end, pre_days=pre_days
        )
        side = pa.table(
            {
                "unit": pa.array(units.tolist(), pa.string()),
                "first_exposed": pa.array(first_exposed, pa.timestamp("ms", tz="UTC")),
            }
        )
        result = engine.run_arrow(query.sql, query.params, tables={"assignments": side})
        if result.num_rows:
            rows = np.searchsorted(units, np.asarray(result.column("unit").to_pylist(), dtype=str))
            cols = np.asarray(result.column("day").to_numpy(), dtype=np.int64) + 1
            keep = (cols >= 0) & (cols <= days)
            for name, i in zip(query.names, events, strict=True):
                if measures[i].aggregation == Aggregation.VALUES:
                    if values is not None:
                        values[i] = _flatten(result.column(name), rows, cols, keep)
                    continue
                column = np.asarray(result.column(name).to_numpy(), dtype=float)
                np.add.at(out[i], (rows[keep], cols[keep]), column[keep])
    sources = table_sources()
    for i, measure in enumerate(measures):
        if measure.source != Source.TABLE:
            continue
        user_units = {int(u[2:]): n for n, u in enumerate(units) if u.startswith("u:")}
        first = dict(zip(units.tolist(), first_exposed, strict=True))
        rows_ = sources[measure.table].rows(
            user_ids=list(user_units), start=start - timedelta(days=pre_days), end=end
        )
        for user_id, at, amount in rows_:
            n = user_units.get(user_id)
            if n is None:
                continue
            if at < start:
                col = 0
            elif at >= first[units[n]]:
                col = 1 + int((at - start).total_seconds() * 1000 // DAY_MS)
            else:
                continue
            if col <= days:
                out[i][n, col] += float(amount)
    return out


def _flatten(
    column: pa.ChunkedArray, rows: np.ndarray, cols: np.ndarray, keep: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A unit-day array column as one row per value: (unit row, day column, value)."""
    lists = column.combine_chunks()
    lengths = np.asarray(pc.list_value_length(lists).fill_null(0), dtype=np.int64)
    flat = np.asarray(pc.list_flatten(lists).to_numpy(zero_copy_only=False), dtype=float)
    repeat_keep = np.repeat(keep, lengths)
    return (np.repeat(rows, lengths)[repeat_keep].astype(np.int64),
            np.repeat(cols, lengths)[repeat_keep].astype(np.int64), flat[repeat_keep])


def snapshot_experiment(experiment: Experiment, *, as_of: datetime | None = None) -> ResultSnapshot:
    """Compute the results now (or at `as_of`) and keep them as the day's snapshot."""
    results = analyze_experiment(experiment, as_of=as_of)
    moment = datetime.fromtimestamp(results.as_of_ms / 1000, tz=UTC)
    snapshot, _ = ResultSnapshot.objects.update_or_create(
        experiment=experiment,
        day=moment.date(),
        defaults={"as_of": moment, "payload": results.as_json()},
    )
    return snapshot


def latest_snapshot(experiment: Experiment) -> ResultSnapshot | None:
    return ResultSnapshot.objects.filter(experiment=experiment).order_by("-day").first()
