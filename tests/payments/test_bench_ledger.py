"""bench/ledger.py in its quick mode, so that it cannot rot: 4 worker processes posting 40
gifts each over 5 hot creators, with many injected retries and aborted transactions (20 %
each), then every invariant the benchmark checks. No wall-clock figure is asserted."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
from django.db import connection

BENCH = Path(__file__).resolve().parents[2] / "bench"

pytestmark = pytest.mark.django_db(transaction=True)


def _bench() -> ModuleType:
    sys.path.insert(0, str(BENCH))
    spec = importlib.util.spec_from_file_location("bench_ledger", BENCH / "ledger.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_quick_mode_keeps_every_invariant_under_retries_and_aborts() -> None:
    bench = _bench()
    plan = bench.Plan(tag="quick", workers=4, gifts=40, creators=5, retry=0.2, abort=0.2)
    try:
        figures = bench.run_once(plan)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE IF EXISTS bench_plain_set, bench_plain_transfer")
    assert {name: figures[name] for name in bench.VIOLATIONS} == dict.fromkeys(
        bench.VIOLATIONS, 0)
    counts = figures["counts"]
    assert counts["aborted"] > 0
    assert counts["retried"] > 0
    assert counts["refused_insufficient"] > 0  # the poor senders ran out, nothing overdrew
    assert figures["transfers"] == 3 * figures["gifts"] > 0
    assert figures["plain insert transfers/s"] > 0
