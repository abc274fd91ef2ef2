"""Fitting the ranker's heads (LightGBM; a constant head where the labels have one class)."""

from __future__ import annotations

from typing import Any

import numpy as np

from apps.feed.artifacts import ConstantHead
from apps.feed.ranking import HEADS
from apps.feed.training._common import SEED
from apps.feed.training.dataset import Dataset


def fit_heads(ds: Dataset, *, n_jobs: int = 2) -> dict[str, Any]:
    import lightgbm as lgb

    params: dict[str, Any] = {"n_estimators": 120, "learning_rate": 0.05, "num_leaves": 31,
              "min_child_samples": 20, "subsample": 0.8, "subsample_freq": 1,
              "colsample_bytree": 0.9, "random_state": SEED, "n_jobs": n_jobs,
              "verbose": -1}
    heads: dict[str, Any] = {}
    for head in HEADS:
        y = ds.labels[head]
        if head == "watch":
            heads[head] = lgb.LGBMRegressor(**params).fit(ds.x, y)
        elif len(np.unique(y)) < 2:
            heads[head] = ConstantHead(float(y.mean()) if len(y) else 0.0)
        else:
            heads[head] = lgb.LGBMClassifier(**params).fit(ds.x, y)
    return heads


def combined(heads: dict[str, Any], x: np.ndarray, w: dict[str, float]) -> np.ndarray:
    total = np.zeros(len(x), dtype=np.float64)
    for head, est in heads.items():
        pred = est.predict(x) if head == "watch" else est.predict_proba(x)[:, 1]
        total += w.get(head, 0.0) * np.asarray(pred, dtype=np.float64)
    return total
