"""The offline protocol's harness (bench/reco_offline.py) in a quick mode: every method
measured on the same users, metrics in range, intervals ordered. No figure is asserted."""

from __future__ import annotations

import argparse

import pytest

from tests.bench_scripts import load_bench


def test_the_offline_protocol_runs_every_method_on_the_same_users() -> None:
    reco_offline = load_bench("reco_offline")
    args = argparse.Namespace(users=48, creators=30, posts=300, per_user=40, n_out=3,
                              split="eval", seed=5, jobs=1, quotas="", score_cpu=False,
                              tune_quotas=False)
    report = reco_offline.run(args)
    methods = report["methods"]
    assert {"for-you", "for-you-no-rerank", "for-you-lambdarank", "candidates+heuristic",
            "ranker-alone", "for-you-page", "popularity", "als", "item-knn"} <= set(methods)
    assert report["users"] > 0
    for name, m in methods.items():
        for key in ("ndcg@10", "recall@10", "recall@50", "hit@10", "coverage"):
            assert 0.0 <= m[key] <= 1.0, (name, key)
        lo, hi = m["ci"]
        if name != "for-you":  # a paired interval around the mean difference
            assert lo - 1e-9 <= m["diff_ndcg"] <= hi + 1e-9, name
    assert 0.0 <= report["candidate_recall"] <= report["candidate_recall_of_reachable"] <= 1.0



def test_quota_tuning_refuses_the_evaluation_users() -> None:
    reco_offline = load_bench("reco_offline")
    args = argparse.Namespace(users=48, creators=30, posts=300, per_user=40, n_out=3,
                              split="eval", seed=5, jobs=1, quotas="", score_cpu=False,
                              tune_quotas=True, budgets="20,40")
    with pytest.raises(SystemExit, match="tune users only"):
        reco_offline.run(args)


@pytest.mark.parametrize("mode", [{"tune_rerank": True}, {"misses": '{"collab": 300}'}])
def test_rerank_and_recall_tuning_refuse_the_evaluation_users(mode: dict[str, object]) -> None:
    reco_offline = load_bench("reco_offline")
    args = argparse.Namespace(users=48, creators=30, posts=300, per_user=40, n_out=3,
                              split="eval", seed=5, jobs=1, quotas="", score_cpu=False,
                              tune_quotas=False, **mode)
    with pytest.raises(SystemExit, match="tune users only"):
        reco_offline.run(args)
