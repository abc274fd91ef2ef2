"""Ranker training: from watch events to a versioned artefact with offline metrics.

Protocol (a time split, no peeking): events before T1 are the *history* (what the
features may know: each user's completions and likes, collaborative factors, post
statistics); events in [T1, T2) are the training rows (labels: completion, watched
fraction, like, follow); events from T2 on are held out, with features rebuilt from the
history before T2. Metrics on the held-out rows: AUC of the completion head, NDCG@10 over
each user's impressed posts (gain: watched fraction + like), recall@50 of each user's
completions among sampled catalogue candidates — for the ranker and for the popularity
and chronological baselines. The served artefact keeps the heads trained on [T1, T2) and
collaborative factors refitted on every event.

Everything here works on arrays (`Events`, a `Catalogue`), so the simulator in bench/
trains and serves with exactly this code; `load_events` reads them from the aggregates.

One module per step: `history` (events, history, factors), `dataset` (training rows),
`fitting` (the heads), `metrics`, `run` (`train`, `save_model`), `loading` (from the
aggregates); the names callers use are re-exported here."""

# Artefacts stored before the constant head moved to apps.feed.artifacts pickled it under
# this name; it stays importable so they still load.
from apps.feed.artifacts import ConstantHead as _Constant
from apps.feed.training._common import SEED
from apps.feed.training.dataset import (
    Dataset,
    build_dataset,
    candidate_set,
    context_for,
    model_columns,
    with_history_counters,
)
from apps.feed.training.fitting import combined, fit_heads
from apps.feed.training.history import Events, History, coengagement, factorise, history_of
from apps.feed.training.loading import load_events, user_countries
from apps.feed.training.metrics import Scorers, auc, evaluate, ndcg_by_user, recall_at_50
from apps.feed.training.run import MAX_TRAIN_ROWS, TrainResult, save_model, train

__all__ = [
    "MAX_TRAIN_ROWS",
    "SEED",
    "Dataset",
    "Events",
    "History",
    "Scorers",
    "TrainResult",
    "_Constant",
    "auc",
    "build_dataset",
    "candidate_set",
    "coengagement",
    "combined",
    "context_for",
    "evaluate",
    "factorise",
    "fit_heads",
    "history_of",
    "load_events",
    "model_columns",
    "ndcg_by_user",
    "recall_at_50",
    "save_model",
    "train",
    "user_countries",
    "with_history_counters",
]
