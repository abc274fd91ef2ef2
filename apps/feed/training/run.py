"""The whole run (split by time, fit, evaluate, refit the factors) and storing its artefact
(the format: apps.feed.artifacts)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from django.core.files.base import ContentFile
from django.db import connection, transaction

from apps.feed.artifacts import MODEL_FEATURES, dump_artifact
from apps.feed.pools import Catalogue
from apps.feed.ranking import weights
from apps.feed.training._common import SEED
from apps.feed.training.dataset import build_dataset, with_history_counters
from apps.feed.training.fitting import fit_heads
from apps.feed.training.history import Events, coengagement, factorise, history_of
from apps.feed.training.metrics import Scorers, auc, evaluate, recall_at_50

MAX_TRAIN_ROWS = 400_000


@dataclass
class TrainResult:
    heads: dict[str, Any]
    metrics: dict[str, Any]
    cf_users: dict[int, np.ndarray]
    cf_items: dict[int, np.ndarray]
    trained_on: dict[str, Any]
    # Post id -> (co-engaged post ids, similarities), best first (the `coengaged` source).
    coengaged: dict[int, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)


def train(ev: Events, cat: Catalogue, *, follows: dict[int, set[int]],
          languages: dict[int, str] | None = None,
          countries: dict[int, str] | None = None, n_jobs: int = 2,
          split: tuple[float, float] = (0.5, 0.8)) -> TrainResult:
    """Split by time at the given quantiles of event time, fit, evaluate, refit factors."""
    started = time.time()
    rng = np.random.default_rng(SEED)
    if len(ev) < 50:
        raise ValueError("Not enough events to train a ranker (need at least 50).")
    t1, t2 = (float(np.quantile(ev.ts, q)) for q in split)
    hist1 = history_of(ev, cut=t1)
    train_ev = ev.select((ev.ts >= t1) & (ev.ts < t2))
    if len(train_ev) > MAX_TRAIN_ROWS:
        train_ev = train_ev.select(rng.random(len(train_ev)) < MAX_TRAIN_ROWS / len(train_ev))
    ds_train = build_dataset(train_ev, cat, hist1, now=t2, follows=follows,
                             languages=languages, countries=countries)
    heads = fit_heads(ds_train, n_jobs=n_jobs)
    hist2 = history_of(ev, cut=t2)
    test_ev = ev.select(ev.ts >= t2)
    ds_test = build_dataset(test_ev, cat, hist2, now=float(ev.ts.max()), follows=follows,
                            languages=languages, countries=countries)
    w = weights()
    at_t2 = with_history_counters(cat, hist2)
    scorers = Scorers(
        heads=heads,
        popularity={int(p): float(v + 3 * lk) for p, v, lk in zip(
            at_t2.ids.tolist(), at_t2.views.tolist(), at_t2.likes.tolist(), strict=True)},
        published={int(p): float(t) for p, t in zip(cat.ids.tolist(), cat.published.tolist(),
                                                    strict=True)},
    )
    recall = recall_at_50(test_ev, cat, hist2, heads, follows=follows, now=float(ev.ts.max()),
                          rng=rng, w=w)
    metrics: dict[str, Any] = evaluate(ds_test, scorers, recall_sets=recall, w=w)
    for head in ("like", "follow"):
        est = heads[head]
        metrics["ranker"][f"auc_{head}"] = auc(ds_test.labels[head],
                                               est.predict_proba(ds_test.x)[:, 1])
    cf_users, cf_items = factorise(ev)
    coengaged = coengagement(ev)
    trained_on = {"events": len(ev), "train_rows": len(ds_train.x),
                  "test_rows": len(ds_test.x), "users": len(np.unique(ev.user)),
                  "posts": len(np.unique(ev.post)), "split_t1": t1, "split_t2": t2,
                  "features": list(MODEL_FEATURES), "weights": w,
                  "seconds": round(time.time() - started, 1)}
    return TrainResult(heads=heads, metrics=_clean(metrics), cf_users=cf_users,
                       cf_items=cf_items, trained_on=trained_on, coengaged=coengaged)


def _clean(value: Any) -> Any:
    """JSON-safe metrics (NaN → None, 4 decimals)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, float):
        return None if np.isnan(value) else round(value, 4)
    return value


def save_model(result: TrainResult) -> Any:
    """Store the artefact and its row (a new version, not active until staff choose it)."""
    from apps.feed.models import RankerModel

    with transaction.atomic():
        # Serialise version numbers between concurrent trainings.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(7712001)")
        last = RankerModel.objects.order_by("-version").values_list("version", flat=True).first()
        version = (last or 0) + 1
        row = RankerModel(version=version, metrics=result.metrics,
                          feature_names=list(MODEL_FEATURES), trained_on=result.trained_on)
        row.artifact.save(f"ranker-v{version}.joblib", ContentFile(dump_artifact(result)),
                          save=False)
        row.save()
    return row
