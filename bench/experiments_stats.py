"""The statistics' proofs on simulated data (bench/experiments.py `stats`), through the
code the results page uses (apps.experiments.stats):

1. A/A with daily peeking: `--experiments` (200) simulated A/A experiments of `--days` (28)
   days, `--users-per-day` new users a day, a skewed per-user metric (watch minutes,
   gamma) with a correlated pre-period value. Each day every experiment is looked at; it
   is a false positive if ANY look says significant at alpha = 0.05: the always-valid
   mSPRT p-value (raw and with CUPED), against the naive fixed-horizon test peeked daily
   and the same test looked at once at the end. Rates with Wilson 95 % intervals. Then
   the power of the same set-up with a true +3 % lift.
2. Sample-ratio mismatch at 100,000 users (50/50 configured): the share of simulated
   experiments flagged (p < 0.001) when 1 % of the users are moved from one arm to the
   other (51/49), and for smaller mismatches for the record (50.5/49.5; 1 % of one arm's
   users lost): by chi-squared looked at once, by the always-valid test over every arrival,
   and by what the analysis blocks on (either: the always-valid test during the run, the
   chi-squared once at the final analysis); and how many of the A/A runs above each flags.
   Then the always-valid test's power by its prior's concentration
   (`--srm-concentrations`), the measurement that chose it (stats.srm).
3. CUPED: for several pre-period correlations rho, the variance of the difference-in-means
   estimator with CUPED over its variance without, across `--replications` (4,000: the
   ratio's sampling error is then about 2 points), against the theory's 1 - rho².
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _runs import Run, Runs  # noqa: E402
from _runs import add_arguments as add_run_arguments  # noqa: E402

from apps.experiments.stats import (  # noqa: E402
    ArmSummary,
    cuped_arms,
    mean_summary,
    sequential_history,
    srm_check,
    z_test,
)
from apps.experiments.stats.srm import (  # noqa: E402
    SRM_PRIOR_CONCENTRATION,
    sequential_srm_p_value,
)

ALPHA = 0.05


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--experiments", type=int, default=200)
    parser.add_argument("--days", type=int, default=28)
    parser.add_argument(
        "--users-per-day", type=int, default=1000, help="new users per day, both arms together"
    )
    parser.add_argument(
        "--replications", type=int, default=4000, help="CUPED: simulated experiments per rho"
    )
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument(
        "--srm-concentrations",
        default="100,1000,10000",
        help="the SRM prior's concentrations to compare (comma-separated; empty: skip)",
    )
    add_run_arguments(parser, default_runs=1)


def wilson(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval (Wilson 1927) for a binomial proportion."""
    if n == 0:
        return (0.0, 1.0)
    p = hits / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


def rate_text(hits: int, n: int) -> str:
    low, high = wilson(hits, n)
    return f"{hits}/{n} = {hits / n:.1%} (95 % CI {low:.1%}-{high:.1%})"


def _summary(values: np.ndarray) -> ArmSummary:
    return mean_summary(values)


def simulate_experiment(
    rng: np.random.Generator, days: int, per_day: int, lift: float = 0.0, rho_shape: float = 0.7
) -> dict[str, object]:
    """One experiment looked at daily: any-look verdicts of each method, SRM p-values."""
    n = days * per_day
    arm = rng.random(n) < 0.5  # True = treatment
    habit = rng.gamma(2.0, 5.0, size=n)  # a user's typical minutes
    pre = habit * rng.gamma(1 / (1 - rho_shape) ** 2, (1 - rho_shape) ** 2, size=n)
    y = habit * rng.gamma(1 / (1 - rho_shape) ** 2, (1 - rho_shape) ** 2, size=n)
    y = y * np.where(arm, 1 + lift, 1.0)
    raw_looks, cuped_looks, naive_any, srm_ps = [], [], False, []
    for day in range(1, days + 1):
        m = day * per_day
        a, b = ~arm[:m], arm[:m]
        control, treatment = _summary(y[:m][a]), _summary(y[:m][b])
        raw_looks.append((control, treatment))
        (ya, yb), _ = cuped_arms([y[:m][a], y[:m][b]], [pre[:m][a], pre[:m][b]])
        cuped_looks.append((_summary(ya), _summary(yb)))
        naive_any = naive_any or z_test(control, treatment) < ALPHA
        srm_ps.append(srm_check([int(a.sum()), int(b.sum())], [1, 1]).p_value)
    raw = sequential_history(raw_looks, alpha=ALPHA)
    srm_sequential = sequential_srm_p_value(arm.astype(np.int64), [1, 1])
    cuped = sequential_history(cuped_looks, alpha=ALPHA)
    return {
        "sequential": raw[-1].p_value < ALPHA,  # the running minimum: any look
        "sequential_cuped": cuped[-1].p_value < ALPHA,
        "naive_peeking": naive_any,
        "naive_once": z_test(*raw_looks[-1]) < ALPHA,
        "srm_last": srm_ps[-1] < 0.001,
        "srm_any": min(srm_ps) < 0.001,
        # the always-valid test over every arrival, and what the analysis blocks on: it, or
        # chi-squared once at the final analysis (stats.srm)
        "srm_sequential_any": srm_sequential < 0.001,
        "srm_blocked": srm_ps[-1] < 0.001 or srm_sequential < 0.001,
        "rho": float(np.corrcoef(pre, y)[0, 1]),
    }


def aa_and_power(args: argparse.Namespace, rng: np.random.Generator, run: Run) -> None:
    n = args.experiments
    print(
        f"\n--- 1. A/A with daily peeking: {n} experiments x {args.days} daily looks, "
        f"{args.users_per_day:,} new users/day ({args.days * args.users_per_day:,} per "
        "experiment at the end) ---"
    )
    started = time.monotonic()
    results = [simulate_experiment(rng, args.days, args.users_per_day) for _ in range(n)]
    rho = float(np.mean([r["rho"] for r in results]))
    print(
        f"(per-user metric: gamma-distributed minutes; pre-period correlation rho = {rho:.2f};"
        f" {time.monotonic() - started:.0f} s)"
    )
    for key, label in [
        ("sequential", "always-valid mSPRT, looked at daily"),
        ("sequential_cuped", "always-valid mSPRT with CUPED, daily"),
        ("naive_peeking", "naive z/t-test, looked at daily"),
        ("naive_once", "naive z/t-test, looked at once (day 28)"),
    ]:
        hits = sum(bool(r[key]) for r in results)
        print(f"  false-positive rate, {label:<42} {rate_text(hits, n)}")
        run.figure(f"A/A FPR {key}", 100 * hits / n, "%")
        run.figure(f"A/A FPR {key} CI high", 100 * wilson(hits, n)[1], "%")
    seq = sum(bool(r["sequential"]) for r in results)
    verdict = "MET" if wilson(seq, n)[0] <= ALPHA and seq / n <= ALPHA else "NOT MET"
    print(f"  goal (sequential rate <= 5 %): {verdict}")
    srm_last = sum(bool(r["srm_last"]) for r in results)
    srm_any = sum(bool(r["srm_any"]) for r in results)
    srm_seq = sum(bool(r["srm_sequential_any"]) for r in results)
    srm_blocked = sum(bool(r["srm_blocked"]) for r in results)
    print(
        f"  SRM flags among these A/A runs: chi-squared at the last look {srm_last}/{n}; "
        f"chi-squared at any of the {args.days} daily looks {srm_any}/{n}; the always-valid "
        f"test at any arrival {srm_seq}/{n}; blocked by the analysis (always-valid during the "
        f"run or chi-squared at the final analysis) {rate_text(srm_blocked, n)}, bound 0.2 %"
    )
    run.figure("A/A SRM flagged last look", srm_last)
    run.figure("A/A SRM flagged any look", srm_any)
    run.figure("A/A SRM sequential flagged any arrival", srm_seq)
    run.figure("A/A SRM blocked (sequential or final chi-squared)", srm_blocked)

    lift = 0.03
    power_n = max(50, n // 2)
    print(f"\n    power with a true +{lift:.0%} lift ({power_n} experiments, same set-up):")
    lifted = [
        simulate_experiment(rng, args.days, args.users_per_day, lift=lift) for _ in range(power_n)
    ]
    for key, label in [
        ("sequential", "always-valid mSPRT, daily"),
        ("sequential_cuped", "always-valid mSPRT with CUPED, daily"),
        ("naive_once", "naive test, once at the end"),
    ]:
        hits = sum(bool(r[key]) for r in lifted)
        print(f"  detected by {label:<38} {rate_text(hits, power_n)}")
        run.figure(f"power +3% {key}", 100 * hits / power_n, "%")


def srm(args: argparse.Namespace, rng: np.random.Generator, run: Run) -> None:
    users, sims = 100_000, 200
    print(
        f"\n--- 2. Sample-ratio mismatch at {users:,} users, configured 50/50, "
        f"{sims} simulated experiments each; flagged at p < 0.001 by chi-squared looked at "
        "once, by the always-valid test over every arrival, and blocked by the analysis "
        "(either: always-valid during the run, chi-squared at the final analysis) ---"
    )
    cases = [
        ("1 % of users moved to treatment (51/49)", 0.51, 0.0),
        ("treatment share 50.5 % (50.5/49.5)", 0.505, 0.0),
        ("1 % of treatment's users lost", 0.5, 0.01),
        ("no mismatch (50/50)", 0.5, 0.0),
    ]
    for label, share, lost in cases:
        flagged = flagged_seq = blocked = 0
        p_values = []
        for _ in range(sims):
            # units in arrival order: treatment with the share, then lost with `lost`
            arrivals = (rng.random(users) < share).astype(np.int64)
            if lost:
                arrivals = arrivals[~((arrivals == 1) & (rng.random(users) < lost))]
            counts = np.bincount(arrivals, minlength=2).tolist()
            result = srm_check(counts, [1, 1], arrivals=arrivals, final=True)
            assert result.sequential_p_value is not None
            flagged += result.p_value < 0.001
            flagged_seq += result.sequential_p_value < 0.001
            blocked += result.flagged
            p_values.append(result.p_value)
        print(f"  {label} (median chi-squared p = {np.median(p_values):.2g}):")
        print(
            f"    chi-squared once {rate_text(flagged, sims)}; always-valid "
            f"{rate_text(flagged_seq, sims)}; blocked {rate_text(blocked, sims)}"
        )
        run.figure(f"SRM flagged: {label}", 100 * flagged / sims, "%")
        run.figure(f"SRM sequential flagged: {label}", 100 * flagged_seq / sims, "%")
        run.figure(f"SRM blocked: {label}", 100 * blocked / sims, "%")

    concentrations = [float(c) for c in args.srm_concentrations.split(",") if c.strip()]
    if not concentrations:
        return
    # the same z (6.3 on average) at each size: where the prior's scale matters
    sizes = [(100_000, 0.51), (100_000, 0.505), (10_000, 0.5316), (1_000, 0.6)]
    print(
        f"\n    the always-valid test's power by its prior's concentration ({sims} runs per "
        f"cell; the analysis uses {SRM_PRIOR_CONCENTRATION:g}):"
    )
    print("    " + f"{'units':>9} {'split':>13}" + "".join(f"{c:>10g}" for c in concentrations))
    for units, share in sizes:
        hits = dict.fromkeys(concentrations, 0)
        for _ in range(sims):
            arrivals = (rng.random(units) < share).astype(np.int64)
            for c in concentrations:
                hits[c] += sequential_srm_p_value(arrivals, [1, 1], concentration=c) < 0.001
        split = f"{100 * share:.4g}/{100 - 100 * share:.4g}"
        print(
            "    "
            + f"{units:>9,} {split:>13}"
            + "".join(f"{hits[c]:>6}/{sims:<3}" for c in concentrations)
        )
        for c in concentrations:
            run.figure(f"SRM sequential power {split} at {units} conc={c:g}", 100 * hits[c] / sims)


def cuped(args: argparse.Namespace, rng: np.random.Generator, run: Run) -> None:
    per_arm, reps = 2_000, args.replications
    print(
        f"\n--- 3. CUPED variance reduction: {reps} simulated experiments per rho, "
        f"{per_arm:,} users per arm ---"
    )
    print(
        f"  {'rho':>5}  {'Var(CUPED)/Var(raw)':>20}  {'1 - rho^2':>10}  {'gap (points)':>12}"
        f"  {'mean per-unit ratio':>20}"
    )
    for rho in (0.0, 0.3, 0.5, 0.7, 0.9):
        raw_diffs, cuped_diffs, unit_ratios = [], [], []
        for _ in range(reps):
            x = rng.normal(0, 1, size=2 * per_arm)
            y = rho * x + math.sqrt(1 - rho**2) * rng.normal(0, 1, size=2 * per_arm)
            a, b = y[:per_arm], y[per_arm:]
            (ca, cb), _ = cuped_arms([a, b], [x[:per_arm], x[per_arm:]])
            raw_diffs.append(b.mean() - a.mean())
            cuped_diffs.append(cb.mean() - ca.mean())
            unit_ratios.append(np.concatenate([ca, cb]).var() / y.var())
        ratio = float(np.var(cuped_diffs) / np.var(raw_diffs))
        theory = 1 - rho**2
        print(
            f"  {rho:>5.1f}  {ratio:>20.3f}  {theory:>10.3f}  {100 * (ratio - theory):>+12.1f}"
            f"  {np.mean(unit_ratios):>20.3f}"
        )
        run.figure(f"CUPED variance ratio rho={rho}", ratio)
        run.figure(f"CUPED gap vs 1-rho^2 rho={rho} (points)", 100 * (ratio - theory))


def main(args: argparse.Namespace) -> None:
    runs = Runs("experiments stats", args)
    for run in runs:
        rng = np.random.default_rng(args.seed + run.index)
        aa_and_power(args, rng, run)
        srm(args, rng, run)
        cuped(args, rng, run)
    runs.summary()
