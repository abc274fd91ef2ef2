"""Flag evaluation cost (bench/experiments.py `flags`), and our evaluator against
GrowthBook's Python SDK on the same configuration.

    flock /tmp/bench.lock .venv/bin/python bench/experiments.py flags [--flags 20] [--runs 3]

Set-up (in the dev database, environment "dev", keys `bench.*`, removed at the end):
`--flags` flags with two targeting rules each (country/platform/app version, a 20 %
rollout), one layer with three running experiments over them (30 % each, a 10 % holdout).

1. In process, per request (a new unit each time, every flag read once):
   - ours without the sticky-assignment query (what is left when no experiment applies);
   - ours with it (the one indexed query a request with running experiments makes);
   - GrowthBook's SDK (growthbook 4.0) evaluating the exported feature document
     (apps.experiments.growthbook_export): a GrowthBook object per request, as its docs
     do per request, then `get_feature_value` for each flag.
2. Over HTTP on one uvicorn worker (bench/api_latency.py's server and load generator):
   `GET /api/v1/ping` (the no-op) against `GET /api/v1/flags` (evaluates every flag and
   serialises them with the ETag), requests/s, p50/p99 and server CPU per request.

Medians of `--runs`, with the load average (bench/_runs.py).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from _runs import add_arguments as runs_arguments

    runs_arguments(parser, default_runs=3)
    parser.add_argument("--flags", type=int, default=20)
    parser.add_argument("--requests", type=int, default=3000,
                        help="in-process evaluations per variant and run")
    parser.add_argument("--duration", type=float, default=5.0, help="HTTP phase seconds")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--max-requests", type=int, default=200_000)
    parser.add_argument("--timeout", type=float, default=10.0)
    parser.add_argument("--no-http", action="store_true", help="only the in-process part")


def _setup(n_flags: int) -> list[str]:
    from apps.experiments import services
    from apps.experiments.models import Experiment, ExperimentMetric, Flag, Layer, Metric

    Experiment.objects.filter(key__startswith="bench-").delete()
    Layer.objects.filter(key="bench").delete()
    Flag.objects.filter(key__startswith="bench.").delete()
    keys = []
    for i in range(n_flags):
        key = f"bench.flag_{i}"
        keys.append(key)
        services.flag_save(actor=None, key=key, environment="dev", kind="multivariate",
                           default_value="a", variations=["a", "b", "c"], rules=[
                               {"when": {"country": ["US", "GB"], "platform": ["ios"],
                                         "app_version": {"min": "2.0"}}, "value": "b"},
                               {"value": "c", "rollout": {"percent": 20, "salt": f"r{i}"}}])
    layer = services.layer_create(actor=None, key="bench")
    metric = Metric.objects.order_by("id").first()
    for j in range(3):
        exp = services.experiment_create(
            actor=None, key=f"bench-{j}", layer=layer, traffic_percent=30,
            holdout_percent=10, environment="dev", arms=[
                {"key": "control", "weight": 1, "values": {}},
                {"key": "treatment", "weight": 1, "values": {keys[j]: "b", keys[j + 3]: "c"}}])
        if metric is not None:
            ExperimentMetric.objects.create(experiment=exp, metric=metric, role="primary")
        services.experiment_start(actor=None, experiment=exp)
    return keys


def _teardown() -> None:
    from apps.experiments.models import Experiment, Flag, Layer

    Experiment.objects.filter(key__startswith="bench-").delete()
    Layer.objects.filter(key="bench").delete()
    Flag.objects.filter(key__startswith="bench.").delete()


def _in_process(keys: list[str], requests: int) -> dict[str, float]:
    """Microseconds per request for each evaluator."""
    from django.utils import timezone
    from growthbook import GrowthBook

    from apps.experiments import config, growthbook_export
    from apps.experiments.evaluation import Evaluation
    from apps.experiments.rules import Unit

    config.forget()
    snap = config.current()
    doc = growthbook_export.features_document(snap, now=timezone.now())
    countries, platforms = ("US", "GB", "FR", "BR"), ("ios", "android", "web")
    units = [Unit(user_id=10**12 + i, country=countries[i % 4], platform=platforms[i % 3],
                  app_version=("1.9", "2.1", "3.0")[i % 3]) for i in range(requests)]
    out: dict[str, float] = {}

    started = time.perf_counter()
    for unit in units:
        ev = Evaluation(unit, snapshot=snap, log_exposures=False)
        ev._stored = {}  # no sticky look-up: the evaluator alone
        for key in keys:
            ev.value(key)
    out["ours, visitor (no query)"] = (time.perf_counter() - started) * 1e6 / requests

    sample = units[: max(200, requests // 5)]
    started = time.perf_counter()
    for unit in sample:
        ev = Evaluation(unit, snapshot=snap, log_exposures=False)
        for key in keys:
            ev.value(key)
    out["ours, signed-in (+ sticky query)"] = (time.perf_counter() - started) * 1e6 / len(sample)

    started = time.perf_counter()
    for unit in units:
        gb = GrowthBook(attributes=growthbook_export.attributes(unit), features=doc)
        for key in keys:
            gb.get_feature_value(key, None)
    out["growthbook sdk"] = (time.perf_counter() - started) * 1e6 / requests

    # The shares of one experiment-driven flag's values: GrowthBook's experiment rule ends the
    # evaluation, so its control arm serves the default where ours falls through to the
    # targeting rules (the export cannot say "this arm leaves the flag to its rules").
    ours_b = sum(Evaluation(u, snapshot=snap, log_exposures=False).value(keys[0]) == "b"
                 for u in units[:2000])
    gb_b = sum(GrowthBook(attributes=growthbook_export.attributes(u),
                          features=doc).get_feature_value(keys[0], None) == "b"
               for u in units[:2000])
    out["share b ours"] = ours_b / 2000
    out["share b growthbook"] = gb_b / 2000
    return out


def main(args: argparse.Namespace) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")
    os.environ["SWIPEME_FLAGS_ENVIRONMENT"] = "dev"
    import api_latency
    import django

    step = api_latency.manage("migrate", "--no-input", "--verbosity", "0",
                              env=api_latency.server_env())
    if step.returncode != 0:
        sys.exit(f"manage.py migrate failed:\n{step.stdout}{step.stderr}")

    django.setup()
    from _runs import Runs

    keys = _setup(args.flags)
    server = None
    try:
        port = pid = 0
        if not args.no_http:
            env = api_latency.server_env()
            env["SWIPEME_FLAGS_ENVIRONMENT"] = "dev"
            port = api_latency.free_port()
            server = api_latency.Server(port, env, BASE_DIR / "var" / "bench" /
                                        "flags_server.log")
            server.start()
            pid = server.pid
        runs = Runs("experiments_flags", args)
        print(f"{args.flags} flags, 3 running experiments in one layer (30 % each, 10 % "
              f"holdout), {args.requests} requests per in-process variant")
        for run in runs:
            figures = _in_process(keys, args.requests)
            for name, value in figures.items():
                unit = "" if name.startswith("share") else " µs/request"
                print(f"  {name}: {value:,.3f}{unit}")
                run.figure(f"{name}{unit}", value)
            run.ratio("growthbook/ours (no query)", figures["growthbook sdk"],
                      figures["ours, visitor (no query)"])
            if server is not None:
                ping = asyncio.run(api_latency.measure("ping", "/api/v1/ping", port, pid, args))
                flags = asyncio.run(api_latency.measure("flags", "/api/v1/flags", port, pid,
                                                        args))
                for result in (ping, flags):
                    if not result.available:
                        print(f"  {result.name}: unavailable ({result.note})")
                        continue
                    print(f"  {result.name}: {result.rps:,.0f} req/s, p50 "
                          f"{result.p50:.2f} ms, p99 {result.p99:.2f} ms, server "
                          f"CPU {result.server_cpu_ms:.3f} ms/request"
                          + (f" ({'; '.join(result.problems)})" if result.problems else ""))
                    run.figure(f"{result.name} req/s", result.rps)
                    run.figure(f"{result.name} server CPU ms/request", result.server_cpu_ms)
                if ping.available and flags.available:
                    run.ratio("flags/ping server CPU", flags.server_cpu_ms, ping.server_cpu_ms)
                    run.figure("flags - ping server CPU ms/request",
                               flags.server_cpu_ms - ping.server_cpu_ms)
        runs.summary()
    finally:
        if server is not None:
            server.stop()
        _teardown()

