"""Repeated runs for the benchmarks in bench/: medians, spreads, and the machine's load.

One measurement on a shared 2-core machine does not reproduce (other work moves it by
tens of per cent), so every benchmark repeats its measurement `--runs N` times and reports
the median of each figure and of each ratio against its same-run baseline, with the
min-max and the interquartile range across runs, and the load average and CPU count
before and after every run. A run that starts with the 1-minute load average above the
CPU count is marked busy: its figures are not comparable with a quiet machine's.

    runs = Runs("api_latency", args)          # after add_arguments(parser, default_runs=5)
    for run in runs:                          # prints the load before/after each run
        ...measure...
        run.figure("ping req/s", rps)
        run.ratio("profile/ping req/s", profile_rps, ping_rps)
    runs.summary()                            # table + `--json out.json`

Only the standard library: the benchmarks run it in their own processes.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BUSY = "machine busy: figures not comparable"


def add_arguments(parser: argparse.ArgumentParser, *, default_runs: int) -> None:
    parser.add_argument("--runs", type=int, default=default_runs,
                        help=f"repeat the measurement N times and report medians "
                        f"(default {default_runs})")
    parser.add_argument("--json", type=Path, default=None, metavar="OUT.json",
                        help="also write every run's figures and the summary as JSON")


def load_now() -> dict[str, float]:
    one, five, fifteen = os.getloadavg()
    return {"load1": round(one, 2), "load5": round(five, 2), "load15": round(fifteen, 2),
            "cpus": os.cpu_count() or 0, "time": round(time.time(), 1)}


def _load_text(load: dict[str, float]) -> str:
    return (f"{load['load1']:.2f} {load['load5']:.2f} {load['load15']:.2f} "
            f"(1/5/15 min) on {load['cpus']:.0f} CPU(s)")


def _finite(value: float | None) -> bool:
    return value is not None and isinstance(value, int | float) and math.isfinite(value)


@dataclass
class Run:
    index: int
    load_before: dict[str, float]
    busy: bool
    load_after: dict[str, float] = field(default_factory=dict)
    seconds: float = float("nan")
    figures: dict[str, float] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    units: dict[str, str] = field(default_factory=dict)

    def figure(self, name: str, value: float | None, unit: str = "") -> None:
        """One figure of this run; NaN or None (not measured, failed) is left out."""
        if _finite(value):
            self.figures[name] = float(value)  # type: ignore[arg-type]
            if unit:
                self.units[name] = unit

    def ratio(self, name: str, numerator: float | None, denominator: float | None) -> None:
        """A figure against its baseline measured in this same run."""
        if _finite(numerator) and _finite(denominator) and denominator:
            self.ratios[name] = float(numerator) / float(denominator)  # type: ignore[arg-type]

    def as_dict(self) -> dict[str, Any]:
        return {"run": self.index, "busy": self.busy, "seconds": round(self.seconds, 1),
                "load_before": self.load_before, "load_after": self.load_after,
                "figures": self.figures, "ratios": self.ratios}


def spread(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    q1, q3 = (statistics.quantiles(ordered, n=4, method="inclusive")[::2]
              if len(ordered) > 1 else (ordered[0], ordered[0]))
    return {"median": statistics.median(ordered), "min": ordered[0], "max": ordered[-1],
            "q1": q1, "q3": q3, "n": len(ordered)}


def fmt(value: float) -> str:
    """Three significant figures, thousands separated: 0.437, 12.3, 1,234."""
    if abs(value) < 0.01 or not math.isfinite(value):
        return f"{value:.3g}"
    digits = max(0, 2 - math.floor(math.log10(abs(value))))
    return f"{value:,.{digits}f}"


class Runs:
    def __init__(self, bench: str, args: argparse.Namespace) -> None:
        if args.runs < 1:
            sys.exit("--runs must be at least 1")
        self.bench = bench
        self.count: int = args.runs
        self.json_path: Path | None = args.json
        self.args = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()}
        self.done: list[Run] = []

    def __iter__(self) -> Iterator[Run]:
        for index in range(1, self.count + 1):
            load = load_now()
            busy = load["load1"] > load["cpus"]
            print(f"\n=== {self.bench}: run {index}/{self.count} === load average before: "
                  f"{_load_text(load)}", flush=True)
            if busy:
                print(f"WARNING {BUSY} (1-minute load average {load['load1']:.2f} > "
                      f"{load['cpus']:.0f} CPUs at the start of run {index})", flush=True)
            run = Run(index, load, busy)
            started = time.monotonic()
            yield run
            run.seconds = time.monotonic() - started
            run.load_after = load_now()
            print(f"=== {self.bench}: run {index}/{self.count} done in {run.seconds:.0f} s === "
                  f"load average after: {_load_text(run.load_after)}", flush=True)
            self.done.append(run)

    def _table(self, title: str, key: str, ratio: bool) -> dict[str, dict[str, Any]]:
        names: list[str] = []
        for run in self.done:
            names += [n for n in getattr(run, key) if n not in names]
        summary: dict[str, dict[str, Any]] = {}
        if not names:
            return summary
        width = max(len(title), *(len(n) for n in names))
        print(f"{title:<{width}}  {'median':>10}  {'(min-max)':>19}  {'IQR':>17}  runs")
        for name in names:
            values = [getattr(run, key)[name] for run in self.done if name in getattr(run, key)]
            stats: dict[str, Any] = dict(spread(values))
            unit = next((r.units[name] for r in self.done if name in r.units), "")
            stats["unit"] = unit
            summary[name] = stats
            suffix = "x" if ratio else (f" {unit}" if unit else "")
            print(f"{name:<{width}}  {fmt(stats['median']) + suffix:>10}  "
                  f"{'(' + fmt(stats['min']) + '-' + fmt(stats['max']) + ')':>19}  "
                  f"{fmt(stats['q1']) + '-' + fmt(stats['q3']):>17}  "
                  f"{stats['n']}/{len(self.done)}")
        return summary

    def summary(self) -> dict[str, Any]:
        """Print the medians (and write --json); returns what the JSON holds."""
        runs = len(self.done)
        busy = [r.index for r in self.done if r.busy]
        print(f"\n=== {self.bench}: median of {runs} run{'s' if runs != 1 else ''} "
              f"(min-max, IQR) ===")
        if runs:
            first, last = self.done[0], self.done[-1]
            print(f"load average: {first.load_before['load1']:.2f} at the start of run 1, "
                  f"{last.load_after['load1']:.2f} at the end of run {last.index} "
                  f"(1 min, {first.load_before['cpus']:.0f} CPUs)")
        if busy:
            print(f"WARNING {BUSY}: run{'s' if len(busy) > 1 else ''} "
                  f"{', '.join(map(str, busy))} of {runs} started with "
                  "the 1-minute load average above the CPU count")
        figures = self._table("figure", "figures", ratio=False)
        print()
        ratios = self._table("ratio (same-run baseline)", "ratios", ratio=True)
        if not ratios:
            print("ratio: not computed in any run (see the warnings above)")
        data = {"bench": self.bench, "argv": sys.argv, "args": self.args, "runs": runs,
                "busy_runs": busy, "busy": bool(busy), "cpus": os.cpu_count() or 0,
                "figures": figures, "ratios": ratios,
                "per_run": [r.as_dict() for r in self.done]}
        if self.json_path:
            self.json_path.write_text(json.dumps(data, indent=2) + "\n")
            print(f"\nJSON: {self.json_path}")
        return data
