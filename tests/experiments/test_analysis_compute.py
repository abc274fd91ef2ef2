"""analysis.compute on numpy arrays (no lake): per-look cumulation, retention eligibility,
CUPED against the raw comparison, SRM blocking, Benjamini-Hochberg and the recommendation."""

from __future__ import annotations

import numpy as np
import pytest

from apps.experiments.analysis.compute import DAY_MS, MetricSpec, Plan, UnitTable, analyze

START = 1_700_000_000_000


def _spec(key: str, role: str = "primary", **kw: object) -> MetricSpec:
    base: dict[str, object] = {
        "key": key,
        "name": key,
        "role": role,
        "ratio": False,
        "higher_is_better": True,
        "unit": "",
        "scale": 1.0,
        "numerator": 0,
        "denominator": None,
        "cuped": True,
    }
    base.update(kw)
    return MetricSpec(**base)  # type: ignore[arg-type]


def test_hand_computed_cumulative_values_per_look():
    # 4 units, 2 per arm, 2 days; unit 3 exposed only on day 1.
    arms = np.array(["control", "control", "treatment", "treatment"])
    exposed = np.array([START, START, START, START + DAY_MS + 1], dtype=np.int64)
    m = np.array([[0, 1, 2], [0, 3, 0], [0, 2, 2], [0, 0, 7]], dtype=float)
    table = UnitTable(arms=arms, first_exposed_ms=exposed, measures=[m])
    plan = Plan(
        arms=[("control", 50), ("treatment", 50)],
        start_ms=START,
        as_of_ms=START + 2 * DAY_MS,
        ended=False,
    )
    results = analyze(table, [_spec("x", cuped=False)], plan)
    row = results.comparisons["raw"][0]
    # through day 1: control (1+2, 3+0) = mean 3; treatment (2+2, 0+7) = mean 5.5.
    assert row.control_value == pytest.approx(3.0)
    assert row.treatment_value == pytest.approx(5.5)
    assert row.n_treatment == 2
    assert results.counts == {"control": 2, "treatment": 2}
    assert results.days == 2
    # day 1's look had only one treatment unit: no comparison then, the history starts day 2
    assert [look.day for look in row.history] == [2]


def test_retention_counts_only_units_whose_day_has_passed():
    arms = np.array(["control", "treatment", "control", "treatment"])
    exposed = np.array([START, START, START + 3 * DAY_MS, START + 3 * DAY_MS], dtype=np.int64)
    m = np.zeros((4, 5))
    m[0, 2] = 1  # came back on its day 1
    m[1, 3] = 2
    m[2, 4] = 1  # exposed on day 3: its D1 window (day 4) has not ended at as_of
    table = UnitTable(arms=arms, first_exposed_ms=exposed, measures=[m])
    plan = Plan(
        arms=[("control", 50), ("treatment", 50)],
        start_ms=START,
        as_of_ms=START + 4 * DAY_MS,
        ended=False,
    )
    spec = _spec("d1", cuped=False, numerator_retention_day=1)
    row = analyze(table, [spec], plan).comparisons["raw"][0]
    assert row.n_control == 1  # the late unit is not yet eligible
    assert row.control_value == 1.0
    assert row.treatment_value == 1.0  # 2 events in the window count as "came back"


def _simulated(n: int, effect: float, rho: float, shares=(0.5, 0.5), seed: int = 1):
    rng = np.random.default_rng(seed)
    arms = rng.choice(["control", "treatment"], size=n, p=list(shares))
    exposed = START + rng.integers(0, 3 * DAY_MS, size=n)
    pre = rng.normal(10, 3, size=n)
    y = 10 + rho * (pre - 10) + np.sqrt(1 - rho**2) * rng.normal(0, 3, size=n)
    y = y + effect * (arms == "treatment")
    m = np.zeros((n, 8))
    m[:, 0] = pre
    day = ((exposed - START) // DAY_MS).astype(int) + 1
    m[np.arange(n), day] = y  # all of a unit's value on its first day
    guard = np.zeros((n, 8))
    guard[np.arange(n), day] = rng.poisson(2, size=n)
    return UnitTable(arms=arms, first_exposed_ms=exposed.astype(np.int64), measures=[m, guard])


def test_a_real_effect_ships_and_cuped_narrows_the_interval():
    table = _simulated(20_000, effect=0.3, rho=0.8)
    plan = Plan(
        arms=[("control", 50), ("treatment", 50)],
        start_ms=START,
        as_of_ms=START + 7 * DAY_MS,
        ended=False,
    )
    specs = [
        _spec("watch"),
        _spec("errors", role="guardrail", numerator=1, cuped=False, higher_is_better=False),
    ]
    results = analyze(table, specs, plan)
    assert not results.srm_flagged
    cuped, raw = results.comparisons["cuped"][0], results.comparisons["raw"][0]
    assert cuped.cuped
    assert not raw.cuped
    assert cuped.ci_low <= 0.3 <= cuped.ci_high
    assert cuped.variance_reduction == pytest.approx(0.64, abs=0.05)
    assert (cuped.ci_high - cuped.ci_low) < 0.75 * (raw.ci_high - raw.ci_low)
    assert cuped.significant
    assert results.verdicts["cuped"][0].decision == "ship"
    # the guardrail had no effect: not significant after BH
    assert not results.comparisons["cuped"][1].significant
    assert len(cuped.history) == 7


def test_sample_ratio_mismatch_blocks_the_recommendation():
    table = _simulated(20_000, effect=0.3, rho=0.8, shares=(0.48, 0.52))
    plan = Plan(
        arms=[("control", 50), ("treatment", 50)],
        start_ms=START,
        as_of_ms=START + 7 * DAY_MS,
        ended=False,
    )
    results = analyze(table, [_spec("watch")], plan)
    assert results.srm_flagged
    assert results.srm_reason is not None
    assert "control:" in results.srm_reason
    assert results.verdicts["cuped"][0].decision == "blocked"
    payload = results.as_json()
    assert payload["srm_flagged"] is True


def final_only_mismatch(ended: bool) -> tuple[UnitTable, Plan]:
    """10,290 treatment / 9,710 control units of 20,000 against 50/50, spread evenly in
    arrival order: chi-squared p = 4.1e-5, the always-valid test's p 0.0033 (stats.srm)."""
    n, treated = 20_000, 10_290
    i = np.arange(n)
    in_treatment = np.floor((i + 1) * treated / n) > np.floor(i * treated / n)
    arms = np.where(in_treatment, "treatment", "control")
    exposed = START + (i * (3 * DAY_MS) // n)
    m = np.zeros((n, 8))
    m[:, 0] = 10 + (i % 7)
    m[i, (exposed - START) // DAY_MS + 1] = 10 + (i % 5)
    table = UnitTable(arms=arms, first_exposed_ms=exposed.astype(np.int64), measures=[m])
    plan = Plan(
        arms=[("control", 50), ("treatment", 50)],
        start_ms=START,
        as_of_ms=START + 7 * DAY_MS,
        ended=ended,
    )
    return table, plan


def test_a_mismatch_only_chi_squared_sees_blocks_once_the_experiment_is_stopped():
    table, plan = final_only_mismatch(ended=False)
    running = analyze(table, [_spec("watch")], plan)
    assert running.counts == {"control": 9_710, "treatment": 10_290}
    assert not running.srm_flagged  # the always-valid test alone decides during the run
    assert running.srm_p_value == pytest.approx(0.0033, abs=0.0001)
    assert running.verdicts["cuped"][0].decision != "blocked"

    table, plan = final_only_mismatch(ended=True)
    stopped = analyze(table, [_spec("watch")], plan)
    assert stopped.srm_flagged
    assert stopped.srm_p_value == pytest.approx(4.11e-5, rel=0.01)  # chi-squared 16.82, 1 df
    assert stopped.srm_reason is not None
    assert "at the final analysis" in stopped.srm_reason
    assert "treatment: 10,290 units (expected 10,000)" in stopped.srm_reason
    assert {v.decision for v in stopped.verdicts["cuped"] + stopped.verdicts["raw"]} == {"blocked"}
    assert stopped.verdicts["cuped"][0].reasons == [stopped.srm_reason]


def test_a_harmed_guardrail_means_dont_ship():
    table = _simulated(20_000, effect=0.3, rho=0.8)
    guard = table.measures[1]
    guard[table.arms == "treatment"] *= 1.5
    plan = Plan(
        arms=[("control", 50), ("treatment", 50)],
        start_ms=START,
        as_of_ms=START + 7 * DAY_MS,
        ended=False,
    )
    specs = [
        _spec("watch"),
        _spec("errors", role="guardrail", numerator=1, cuped=False, higher_is_better=False),
    ]
    verdict = analyze(table, specs, plan).verdicts["cuped"][0]
    assert verdict.decision == "dont_ship"
    assert "errors" in verdict.reasons[0]


def test_unmeasured_units_count_for_srm_only():
    table = _simulated(4_000, effect=0.0, rho=0.5)
    table.measured = np.arange(4_000) % 4 != 0  # a quarter are signed-out visitors
    plan = Plan(
        arms=[("control", 50), ("treatment", 50)],
        start_ms=START,
        as_of_ms=START + 7 * DAY_MS,
        ended=False,
    )
    results = analyze(table, [_spec("watch")], plan)
    assert sum(results.counts.values()) == 4_000
    assert results.unmeasured == 1_000
    row = results.comparisons["raw"][0]
    assert row.n_control + row.n_treatment == 3_000
