"""From per-unit, per-day measure arrays to an experiment's results: pure numpy, no Django.

`analyze(table, metrics, plan)` computes, for each look (the end of each experiment day,
the last one at `as_of`), every metric's per-arm summary and the always-valid comparison of
each treatment arm with the control, with CUPED and without; Benjamini-Hochberg across the
metrics at the last look; the sample-ratio check; and the recommendation.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from apps.experiments.stats import (
    ArmSummary,
    MetricVerdict,
    benjamini_hochberg,
    cuped_arms,
    mean_summary,
    quantile_summary,
    ratio_summary,
    recommend,
    sequential_history,
    srm_check,
)

DAY_MS = 86_400_000
ALPHA = 0.05


@dataclass(frozen=True)
class MetricSpec:
    key: str
    name: str
    role: str  # primary | guardrail | secondary
    ratio: bool
    higher_is_better: bool
    unit: str
    scale: float
    numerator: int  # index of the measure arrays
    denominator: int | None
    cuped: bool  # the numerator over the pre-period is a covariate
    numerator_retention_day: int | None = None  # a 0/1 "came back on day N" measure
    denominator_retention_day: int | None = None
    quantile: float | None = None  # a quantile metric: its numerator is in UnitTable.values


@dataclass(frozen=True)
class Plan:
    arms: list[tuple[str, float]]  # (arm key, share of the experiment's units in %), control first
    start_ms: int
    as_of_ms: int
    ended: bool


@dataclass
class UnitTable:
    """Assigned units (one row each) and every measure as a (units, 1 + days) array: column 0
    the pre-period, column 1 + d experiment day d."""

    arms: NDArray[np.str_]
    first_exposed_ms: NDArray[np.int64]
    measures: list[NDArray[np.float64]]
    # Units whose events the metrics can see (None: all). The sample-ratio check counts
    # every unit; the metrics only these (see analysis.load: signed-out visitors).
    measured: NDArray[np.bool_] | None = None
    # A quantile metric's values by measure index: (unit row, day column, value) per value.
    values: dict[int, tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]] = field(
        default_factory=dict
    )


@dataclass
class Look:
    day: int
    difference: float
    ci_low: float
    ci_high: float
    p_value: float


@dataclass
class Comparison:
    metric: str
    name: str
    role: str
    unit: str
    higher_is_better: bool
    arm: str
    control: str
    cuped: bool
    n_control: int
    n_treatment: int
    control_value: float
    treatment_value: float
    difference: float
    ci_low: float
    ci_high: float
    relative: float | None
    relative_ci_low: float | None
    relative_ci_high: float | None
    p_value: float
    adjusted_p: float = 1.0
    significant: bool = False
    improved: bool = False
    variance_reduction: float | None = None
    history: list[Look] = field(default_factory=list)


@dataclass
class Verdict:
    arm: str
    decision: str
    label: str
    reasons: list[str]


@dataclass
class ExperimentResults:
    as_of_ms: int
    start_ms: int
    days: int
    control: str
    counts: dict[str, int]
    expected: dict[str, float]
    srm_p_value: float
    srm_flagged: bool
    srm_reason: str | None
    comparisons: dict[str, list[Comparison]]  # "cuped" and "raw"
    verdicts: dict[str, list[Verdict]]
    unmeasured: int = 0  # units counted for the SRM check but not in the metrics

    def as_json(self) -> dict[str, Any]:
        payload: dict[str, Any] = _finite(asdict(self))
        return payload


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: None instead."""
    if isinstance(value, float):
        return value if np.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def look_count(plan: Plan) -> int:
    return max(1, -(-(plan.as_of_ms - plan.start_ms) // DAY_MS))


def _values(
    table: UnitTable, index: int, look: int, retention_day: int | None, cutoff_ms: int
) -> tuple[NDArray[np.float64], NDArray[np.bool_]]:
    """A measure's per-unit value through day `look - 1`, and which units count for it."""
    arr = table.measures[index]
    values = arr[:, 1 : look + 1].sum(axis=1)
    eligible = np.ones(values.shape, dtype=bool)
    if retention_day is not None:
        values = (values > 0).astype(float)
        eligible = table.first_exposed_ms + (retention_day + 1) * DAY_MS <= cutoff_ms
    return values, eligible


def _summaries(
    table: UnitTable,
    spec: MetricSpec,
    masks: tuple[Any, Any],
    look: int,
    cutoff_ms: int,
    cuped: bool,
) -> tuple[ArmSummary, ArmSummary, float | None]:
    if spec.quantile is not None:
        rows, cols, vals = table.values.get(
            spec.numerator, (np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0))
        )
        in_look = (cols >= 1) & (cols <= look)
        summaries = []
        for mask in masks:
            keep = in_look & mask[rows]
            summaries.append(quantile_summary(vals[keep] / spec.scale, rows[keep], spec.quantile))
        return summaries[0], summaries[1], None
    y, ok = _values(table, spec.numerator, look, spec.numerator_retention_day, cutoff_ms)
    y = y / spec.scale
    if spec.denominator is not None:
        x, ok_x = _values(table, spec.denominator, look, spec.denominator_retention_day, cutoff_ms)
        ok = ok & ok_x
        a, b = masks[0] & ok, masks[1] & ok
        return ratio_summary(y[a], x[a]), ratio_summary(y[b], x[b]), None
    a, b = masks[0] & ok, masks[1] & ok
    if not cuped or a.sum() < 2 or b.sum() < 2:
        return mean_summary(y[a]), mean_summary(y[b]), None
    pre = table.measures[spec.numerator][:, 0] / spec.scale
    (ya, yb), _theta = cuped_arms([y[a], y[b]], [pre[a], pre[b]])
    raw_var = np.concatenate([y[a], y[b]]).var()
    reduction = float(1 - np.concatenate([ya, yb]).var() / raw_var) if raw_var > 0 else 0.0
    return mean_summary(ya), mean_summary(yb), reduction


def _compare(
    table: UnitTable, spec: MetricSpec, plan: Plan, control: str, arm: str, cuped: bool
) -> Comparison:
    use_cuped = cuped and spec.cuped and spec.denominator is None
    looks: list[tuple[ArmSummary, ArmSummary]] = []
    days: list[int] = []
    last: tuple[ArmSummary, ArmSummary, float | None] | None = None
    for k in range(1, look_count(plan) + 1):
        cutoff = min(plan.start_ms + k * DAY_MS, plan.as_of_ms)
        included = table.first_exposed_ms < cutoff
        if table.measured is not None:
            included = included & table.measured
        masks = (included & (table.arms == control), included & (table.arms == arm))
        last = _summaries(table, spec, masks, k, cutoff, use_cuped)
        if last[0].n >= 2 and last[1].n >= 2 and np.isfinite(last[0].variance + last[1].variance):
            looks.append((last[0], last[1]))
            days.append(k)
    history = sequential_history(looks, alpha=ALPHA)
    assert last is not None
    c, t, reduction = last
    final = history[-1] if history else None
    return Comparison(
        metric=spec.key,
        name=spec.name,
        role=spec.role,
        unit=spec.unit,
        higher_is_better=spec.higher_is_better,
        arm=arm,
        control=control,
        cuped=use_cuped,
        n_control=c.n,
        n_treatment=t.n,
        control_value=c.estimate,
        treatment_value=t.estimate,
        difference=t.estimate - c.estimate,
        ci_low=final.ci_low if final else float("-inf"),
        ci_high=final.ci_high if final else float("inf"),
        relative=final.relative if final else None,
        relative_ci_low=final.relative_ci_low if final else None,
        relative_ci_high=final.relative_ci_high if final else None,
        p_value=final.p_value if final else 1.0,
        variance_reduction=reduction,
        history=[
            Look(
                day=d,
                difference=r.difference,
                ci_low=r.ci_low,
                ci_high=r.ci_high,
                p_value=r.p_value,
            )
            for d, r in zip(days, history, strict=True)
        ],
    )


def analyze(table: UnitTable, metrics: list[MetricSpec], plan: Plan) -> ExperimentResults:
    control = plan.arms[0][0]
    treatments = [key for key, _ in plan.arms[1:] if key != "holdout"]
    included = table.first_exposed_ms < plan.as_of_ms
    counts = {key: int((included & (table.arms == key)).sum()) for key, _ in plan.arms}
    # the units in the order they arrived: the always-valid SRM test over all of them, so a
    # healthy experiment recomputed daily is not blocked on some day by chance; once stopped,
    # the one chi-squared look on the final counts too, for power (stats.srm)
    arm_index = np.full(len(table.arms), -1, dtype=np.int64)
    for i, (key, _) in enumerate(plan.arms):
        arm_index[table.arms == key] = i
    counted = included & (arm_index >= 0)
    order = np.argsort(table.first_exposed_ms[counted], kind="stable")
    srm = srm_check(
        list(counts.values()),
        [share for _, share in plan.arms],
        arrivals=arm_index[counted][order],
        final=plan.ended,
    )
    srm_reason = srm.reason([key for key, _ in plan.arms]) if srm.flagged else None
    comparisons: dict[str, list[Comparison]] = {}
    verdicts: dict[str, list[Verdict]] = {}
    for variant in ("cuped", "raw"):
        rows: list[Comparison] = []
        verdicts[variant] = []
        for arm in treatments:
            arm_rows = [
                _compare(table, spec, plan, control, arm, variant == "cuped") for spec in metrics
            ]
            adjusted = benjamini_hochberg([r.p_value for r in arm_rows])
            for row, p in zip(arm_rows, adjusted, strict=True):
                row.adjusted_p = p
                row.significant = p < ALPHA
                row.improved = (row.difference > 0) == row.higher_is_better and row.difference != 0
            rows.extend(arm_rows)
            verdicts[variant].append(_verdict(arm, arm_rows, srm_reason, plan.ended))
        comparisons[variant] = rows
    return ExperimentResults(
        as_of_ms=plan.as_of_ms,
        start_ms=plan.start_ms,
        days=look_count(plan),
        control=control,
        counts=counts,
        expected=dict(zip(counts, srm.expected, strict=True)),
        srm_p_value=srm.decisive_p_value,
        srm_flagged=srm.flagged,
        srm_reason=srm_reason,
        comparisons=comparisons,
        verdicts=verdicts,
        unmeasured=int((included & ~table.measured).sum()) if table.measured is not None else 0,
    )


def _verdict(arm: str, rows: list[Comparison], srm_reason: str | None, ended: bool) -> Verdict:
    def verdict(row: Comparison) -> MetricVerdict:
        return MetricVerdict(
            name=row.name,
            difference=row.difference,
            adjusted_p=row.adjusted_p,
            higher_is_better=row.higher_is_better,
        )

    primary = next((verdict(r) for r in rows if r.role == "primary"), None)
    guardrails = [verdict(r) for r in rows if r.role == "guardrail"]
    rec = recommend(
        primary=primary, guardrails=guardrails, srm_reason=srm_reason, ended=ended, alpha=ALPHA
    )
    return Verdict(arm=arm, decision=rec.decision, label=rec.label, reasons=rec.reasons)
