"""The experiments work's benchmarks and proofs (issue 20), one part per subcommand:

    flock /tmp/bench.lock .venv/bin/python bench/experiments.py engine [--events 10000000]

- `engine`: the experiment-analysis query (per arm: users, mean watch time per user and its
  variance over the exposure window, joined to 100,000 assignments) at 10,000,000 events,
  the lake's engine (chdb over Parquet) against PostgreSQL on the same rows, in the same
  run, median of `--runs`; the data is generated once and cached under var/bench/
  (bench/experiments_lake.py).
- `stats`: the statistics' proofs on simulated data (bench/experiments_stats.py): 200 A/A
  experiments peeked daily (always-valid mSPRT against the naive test, false-positive rates
  with Wilson intervals), sample-ratio mismatch detection at 100,000 users, CUPED's variance
  reduction against 1 - rho².
- `flags`: flag evaluation cost per request (bench/experiments_flags.py): our evaluator with
  and without its one sticky-assignment query, GrowthBook's Python SDK on the exported
  feature document, and `GET /api/v1/flags` against the no-op `GET /api/v1/ping` over HTTP.

Each part is a function taking the parsed arguments; `PARTS` maps subcommands to them and
their argument set-up (add yours there).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))


def engine_arguments(parser: argparse.ArgumentParser) -> None:
    import experiments_lake

    experiments_lake.add_arguments(parser)


def engine(args: argparse.Namespace) -> None:
    """The lake's engine (chdb) against PostgreSQL for the experiment query."""
    import experiments_lake

    experiments_lake.main(args)


def stats_arguments(parser: argparse.ArgumentParser) -> None:
    import experiments_stats

    experiments_stats.add_arguments(parser)


def stats(args: argparse.Namespace) -> None:
    """A/A with daily peeking, SRM, CUPED: the statistics the results page uses."""
    import experiments_stats

    experiments_stats.main(args)


def flags_arguments(parser: argparse.ArgumentParser) -> None:
    import experiments_flags

    experiments_flags.add_arguments(parser)


def flags(args: argparse.Namespace) -> None:
    """Flag evaluation cost per request, ours against GrowthBook's SDK and the no-op."""
    import experiments_flags

    experiments_flags.main(args)


PARTS: dict[str, tuple[Callable[[argparse.ArgumentParser], None],
                       Callable[[argparse.Namespace], None]]] = {
    "engine": (engine_arguments, engine),
    "stats": (stats_arguments, stats),
    "flags": (flags_arguments, flags),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="part", required=True)
    for name, (arguments, _run) in PARTS.items():
        arguments(sub.add_parser(name))
    args = parser.parse_args()
    PARTS[args.part][1](args)


if __name__ == "__main__":
    main()
