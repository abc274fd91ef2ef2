"""The ranker artefact: what training stores and serving loads (a joblib file in default
storage holding the heads and the collaborative factors). Serving imports this module,
never `training` (and so never the training-only code and its imports)."""

from __future__ import annotations

import io
from typing import Any, Protocol

import joblib
import numpy as np
from django.core.files.storage import default_storage

from apps.feed import compiled_trees
from apps.feed.ranking import FEATURES, LoadedModel

# Source flags describe how serving found a candidate; history has no such thing, so the
# model does not see them (they stay in explanations).
MODEL_FEATURES = tuple(f for f in FEATURES if not f.startswith("src_"))
FACTORS = 32


class ConstantHead:
    """A head with one class in its labels (e.g. nobody followed): predicts the base rate.
    It lives here, not in training, because artefacts pickle it: loading one must not
    import training."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict_proba(self, x: np.ndarray) -> np.ndarray:
        p = np.full(len(x), self.value, dtype=np.float32)
        return np.stack([1 - p, p], axis=1)

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.full(len(x), self.value, dtype=np.float32)


class Trained(Protocol):
    """What a training run hands over (`training.TrainResult`)."""

    heads: dict[str, Any]
    cf_users: dict[int, np.ndarray]
    cf_items: dict[int, np.ndarray]
    coengaged: dict[int, tuple[np.ndarray, np.ndarray]]


def to_loaded(result: Trained, *, version: int = 0) -> LoadedModel:
    return LoadedModel(version=version, heads=result.heads,
                       feature_names=list(MODEL_FEATURES), cf_items=result.cf_items,
                       cf_users=result.cf_users, factors=FACTORS,
                       coengaged=result.coengaged)


def _pack_neighbours(table: dict[int, tuple[np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """The co-engagement table as flat arrays (CSR-like: keys, offsets, ids, sims)."""
    keys = np.array(list(table), dtype=np.int64)
    sizes = np.array([len(table[k][0]) for k in keys.tolist()], dtype=np.int64)
    return {
        "co_keys": keys, "co_offsets": np.r_[0, np.cumsum(sizes)].astype(np.int64),
        "co_ids": np.concatenate([table[k][0] for k in keys.tolist()]) if len(keys)
        else np.zeros(0, np.int64),
        "co_sims": np.concatenate([table[k][1] for k in keys.tolist()]) if len(keys)
        else np.zeros(0, np.float32),
    }


def _unpack_neighbours(blob: dict[str, Any]) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    if "co_keys" not in blob:
        return {}
    off = blob["co_offsets"]
    return {int(k): (blob["co_ids"][off[i]:off[i + 1]], blob["co_sims"][off[i]:off[i + 1]])
            for i, k in enumerate(blob["co_keys"].tolist())}


def dump_artifact(result: Trained) -> bytes:
    buf = io.BytesIO()
    joblib.dump({
        "heads": result.heads, "feature_names": list(MODEL_FEATURES), "factors": FACTORS,
        "cf_item_ids": np.array(list(result.cf_items), dtype=np.int64),
        "cf_item_factors": np.vstack(list(result.cf_items.values())) if result.cf_items
        else np.zeros((0, FACTORS), np.float32),
        "cf_user_ids": np.array(list(result.cf_users), dtype=np.int64),
        "cf_user_factors": np.vstack(list(result.cf_users.values())) if result.cf_users
        else np.zeros((0, FACTORS), np.float32),
        **_pack_neighbours(result.coengaged),
    }, buf, compress=3)
    return buf.getvalue()


def load_artifact(name: str, *, version: int) -> LoadedModel:
    with default_storage.open(name, "rb") as fh:
        blob: dict[str, Any] = joblib.load(fh)
    for est in blob["heads"].values():
        if hasattr(est, "set_params"):
            est.set_params(n_jobs=1)  # serving: one thread per request, no OpenMP spinning
    model = LoadedModel(
        version=version, heads=blob["heads"], feature_names=list(blob["feature_names"]),
        cf_items={int(k): np.asarray(v, np.float32) for k, v in zip(
            blob["cf_item_ids"].tolist(), blob["cf_item_factors"], strict=True)},
        cf_users={int(k): np.asarray(v, np.float32) for k, v in zip(
            blob["cf_user_ids"].tolist(), blob["cf_user_factors"], strict=True)},
        factors=int(blob["factors"]),
        coengaged=_unpack_neighbours(blob),
    )
    # The heads compiled to machine code when this machine's cache has them (else compiled
    # in the background while LightGBM predicts; SWIPEME_FEED_COMPILE_RANKER=0: never).
    compiled_trees.attach(model, background=compiled_trees.background_enabled())
    return model
