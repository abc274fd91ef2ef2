"""Ranker training (filled in below): dataset, heads, offline metrics, artefacts."""

from __future__ import annotations

from typing import Any

import joblib
import numpy as np
from django.core.files.storage import default_storage

from apps.feed.ranking import LoadedModel


def load_artifact(name: str, *, version: int) -> LoadedModel:
    with default_storage.open(name, "rb") as fh:
        blob: dict[str, Any] = joblib.load(fh)
    return LoadedModel(
        version=version, heads=blob["heads"], feature_names=list(blob["feature_names"]),
        cf_items={int(k): np.asarray(v, np.float32) for k, v in zip(
            blob["cf_item_ids"], blob["cf_item_factors"], strict=True)},
        cf_users={int(k): np.asarray(v, np.float32) for k, v in zip(
            blob["cf_user_ids"], blob["cf_user_factors"], strict=True)},
        factors=int(blob["factors"]),
    )
