"""An end-to-end experiment on ranker versions with the feed simulator (issue 20, "Tests"):
bench/reco_simulate.py's `ab-ranker` policy at a small size. Simulated users come back over
two days; each session reads `feed.ranker` through the real evaluator (assignment, sticky
row, exposure event), and the page is ranked by the arm's choice: the ranker trained on the
policy's own log overnight, or the heuristic. The figures of the run are not asserted (they
are the bench's); what is asserted is that the experiment machinery did what it promises."""

from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pytest

from apps.events.log import LoggedBatch, RedisStreamEventLog
from apps.experiments import config
from apps.experiments.models import Assignment, Experiment
from apps.experiments.stats.srm import srm_check
from apps.experiments.stats.summary import mean_summary
from tests.bench_scripts import load_bench
from tests.experiments.flag_helpers import standard_metric

pytestmark = pytest.mark.django_db


def _exposed_units(since_ms: int) -> dict[str, set[int]]:
    log = RedisStreamEventLog()
    entries: Any = log.client.xrange(log.stream)
    exposed: dict[str, set[int]] = {}
    for _id, fields in entries:
        batch = LoggedBatch.from_json(fields["b"])
        for event in batch.events:
            data = event["data"]
            if event["type"] == "exposure" and data.get("experiment") == "sim-ranker" \
                    and event["ts"] >= since_ms:
                assert batch.user_id is not None
                exposed.setdefault(data["arm"], set()).add(int(batch.user_id))
    return exposed


def test_an_ab_test_of_ranker_versions_runs_through_the_real_experiment_code() -> None:
    sim = load_bench("reco_simulate")
    standard_metric()  # the setup names the first standard metric as the primary one
    args = argparse.Namespace(users=48, creators=20, posts=300, days=2, max_posts=30, seed=4)
    world = sim.make_world(np.random.default_rng(args.seed), users=args.users,
                           creators=args.creators, posts=args.posts, days=args.days)
    sim.experiment_setup()
    try:
        experiment = Experiment.objects.get(key="sim-ranker")
        assert experiment.started_at is not None
        since_ms = int(experiment.started_at.timestamp() * 1000)
        stats = sim.run_policy("ab-ranker", world, args)

        # Every simulated user who had a session is in exactly one arm, across both days
        # (sticky), and both arms have users.
        by_arm = {arm: set(users) for arm, users in stats.arm_watch.items()}
        assert set(by_arm) == {"model", "heuristic"}
        assert not by_arm["model"] & by_arm["heuristic"]
        assert stats.active_by_day[0] == args.users
        assert len(by_arm["model"] | by_arm["heuristic"]) == args.users

        # The stored assignment of each unit is the arm its sessions were ranked by.
        stored = dict(Assignment.objects.filter(experiment=experiment)
                      .values_list("unit", "arm"))
        assert len(stored) == args.users
        for arm, users in by_arm.items():
            for u in users:
                assert stored[f"u:{sim.SIM_UNIT_BASE + u}"] == arm

        # The exposures in the event stream are the units that used each arm, no others.
        exposed = _exposed_units(since_ms)
        assert {arm: {unit - sim.SIM_UNIT_BASE for unit in units}
                for arm, units in exposed.items()} == by_arm

        # A ranker was trained overnight on day 0's log, so day 1's "model" arm was ranked
        # by it, the "heuristic" arm without it.
        assert stats.offline, "the nightly training ran"

        # The analysis' own statistics take the arms' per-user watch time.
        summaries = [mean_summary(np.array(list(stats.arm_watch[arm].values())) / 60.0)
                     for arm in ("model", "heuristic")]
        assert [s.n for s in summaries] == [len(by_arm["model"]), len(by_arm["heuristic"])]
        assert all(s.estimate > 0 and np.isfinite(s.std_error) for s in summaries)
        assert not srm_check([s.n for s in summaries], [1, 1]).flagged
    finally:
        sim.experiment_teardown()
        config.forget()
