"""Bucketing: deterministic, uniform, independent across salts (no database)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from apps.experiments import bucketing
from apps.experiments.models.experiments import LAYER_BUCKETS

UNITS = [f"u:{i}" for i in range(100_000)]


def test_the_same_unit_and_salt_always_land_in_the_same_place():
    first = [bucketing.unit_hash("s1", u) for u in UNITS[:1000]]
    again = [bucketing.unit_hash("s1", u) for u in UNITS[:1000]]
    assert first == again
    assert all(0.0 <= x < 1.0 for x in first)


def test_layer_buckets_are_uniform_over_100k_units():
    buckets = np.array([bucketing.layer_bucket("layer-salt", u) for u in UNITS])
    assert buckets.min() >= 0
    assert buckets.max() < LAYER_BUCKETS
    counts = np.bincount(buckets // 100, minlength=100)  # 100 slices of 1 %
    chi2, p = stats.chisquare(counts)
    assert p > 0.001, (chi2, p)


def test_arms_split_by_weight_uniformly():
    arms = np.array([bucketing.choose(bucketing.unit_hash("exp", u), [1, 1, 2]) for u in UNITS])
    counts = np.bincount(arms, minlength=3)
    _, p = stats.chisquare(counts, f_exp=[25_000, 25_000, 50_000])
    assert p > 0.001, counts


def test_salts_are_independent():
    a = np.array([bucketing.unit_hash("salt-a", u) < 0.5 for u in UNITS])
    b = np.array([bucketing.unit_hash("salt-b", u) < 0.5 for u in UNITS])
    table = np.array([[np.sum(a & b), np.sum(a & ~b)], [np.sum(~a & b), np.sum(~a & ~b)]])
    _, p, _, _ = stats.chi2_contingency(table)
    assert p > 0.001, table


def test_a_growing_rollout_keeps_everyone_already_in():
    at_10 = {u for u in UNITS[:20_000] if bucketing.in_rollout("r", u, 10)}
    at_30 = {u for u in UNITS[:20_000] if bucketing.in_rollout("r", u, 30)}
    assert at_10 <= at_30
    assert 1_700 < len(at_10) < 2_300
