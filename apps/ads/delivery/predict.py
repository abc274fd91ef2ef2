"""Predicted rates for the auction: pCTR and p2sView (P(click | impression), P(2-second
view | impression)), calibrated, and the quality factor.

*The model* (one per head): logistic regression over
- the ad's own rate, smoothed toward the global rate by a Beta prior of strength
  `PRIOR_STRENGTH` (as a logit; leave-one-out in training so a row never sees its own
  label). An ad the model never saw gets the prior's mean: the global rate. This is the
  prior for new ads;
- the viewer's age band (one-hot; "" = unknown or signed out) and whether they are signed in.
Then Platt scaling (a logistic fit on the raw logit) on rows the regression did not see, and metrics
(log loss, AUC, expected calibration error against the prior) on a third, held-out part.

*Serving* is numpy: a dot product, a sigmoid and the calibration's affine map of the logit,
for every candidate at once; no scikit-learn in the web process. The active `AdPredictor`
row is re-read at most every `RELOAD_SECONDS` per process. No model yet: the priors.

*The quality factor* (in [QUALITY_FLOOR, 1]) stands for predicted negative feedback: the
quick skip (an impression without a 2-second view) is the negative signal the ad events
carry, so quality = min(1, p2sView / the average p2sView), floored. An ad people swipe
away at once needs a proportionally higher bid to win.

Training (`train_from_events`, `manage.py ads_train_predictor`, task
`ads.train_predictor`) reads valid impressions of the last `days` from measurement's
`AdEvent` rows; a click / 2-second view of the same auction is the label.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

AGE_BANDS = ("", "13-17", "18-24", "25-34", "35-44", "45-54", "55+")
HEADS = ("click", "view_2s")
PRIOR_RATES = {"click": 0.01, "view_2s": 0.35}  # before any model is trained
PRIOR_STRENGTH = 50.0  # pseudo-impressions of the Beta prior
QUALITY_FLOOR = 0.2
RELOAD_SECONDS = 60.0
EPS = 1e-6


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    out: np.ndarray = np.log(p / (1 - p))
    return out


def _viewer_columns(age_bands: Sequence[str], signed_in: Sequence[bool]) -> np.ndarray:
    n = len(age_bands)
    out = np.zeros((n, len(AGE_BANDS) + 1), dtype=np.float64)
    index = {band: i for i, band in enumerate(AGE_BANDS)}
    for row, band in enumerate(age_bands):
        out[row, index.get(band, 0)] = 1.0
    out[:, -1] = np.asarray(signed_in, dtype=np.float64)
    return out


@dataclass(frozen=True)
class Head:
    """One calibrated head: rate features + logistic weights + Platt calibration."""

    global_rate: float
    ad_counts: dict[int, tuple[int, int]]  # ad id -> (impressions, events)
    coef: tuple[float, ...]
    intercept: float
    platt_a: float = 1.0  # calibration: p = sigmoid(a * logit(raw) + b)
    platt_b: float = 0.0

    def ad_rate(self, ad_ids: Sequence[int]) -> np.ndarray:
        m, s = self.global_rate, PRIOR_STRENGTH
        out = np.empty(len(ad_ids), dtype=np.float64)
        for i, ad in enumerate(ad_ids):
            n, k = self.ad_counts.get(ad, (0, 0))
            out[i] = (k + m * s) / (n + s)
        return out

    def predict(self, ad_ids: Sequence[int], viewer: np.ndarray) -> np.ndarray:
        x = np.column_stack([_logit(self.ad_rate(ad_ids)), viewer])
        z = x @ np.asarray(self.coef) + self.intercept  # logit of the raw prediction
        out: np.ndarray = 1.0 / (1.0 + np.exp(-(self.platt_a * z + self.platt_b)))
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "global_rate": self.global_rate,
            "ad_counts": {str(k): list(v) for k, v in self.ad_counts.items()},
            "coef": list(self.coef),
            "intercept": self.intercept,
            "platt_a": self.platt_a,
            "platt_b": self.platt_b,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Head:
        return cls(
            global_rate=float(data["global_rate"]),
            ad_counts={int(k): (int(v[0]), int(v[1])) for k, v in data["ad_counts"].items()},
            coef=tuple(float(c) for c in data["coef"]),
            intercept=float(data["intercept"]),
            platt_a=float(data["platt_a"]),
            platt_b=float(data["platt_b"]),
        )


@dataclass(frozen=True)
class Predictions:
    p_click: np.ndarray
    p_view_2s: np.ndarray
    quality: np.ndarray


class Predictor:
    def __init__(self, heads: dict[str, Head] | None, version: int = 0) -> None:
        self.heads = heads or {}
        self.version = version

    def predict(self, ad_ids: Sequence[int], *, age_band: str, signed_in: bool) -> Predictions:
        n = len(ad_ids)
        viewer = _viewer_columns([age_band] * n, [signed_in] * n)
        rates = {}
        for head in HEADS:
            found = self.heads.get(head)
            rates[head] = found.predict(ad_ids, viewer) if found else np.full(n, PRIOR_RATES[head])
        view = rates["view_2s"]
        mean_view = (
            self.heads["view_2s"].global_rate if "view_2s" in self.heads else PRIOR_RATES["view_2s"]
        )
        quality = np.clip(view / max(mean_view, EPS), QUALITY_FLOOR, 1.0)
        return Predictions(p_click=rates["click"], p_view_2s=view, quality=quality)


# --- training ---------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainingRows:
    ad_ids: np.ndarray  # int64
    age_bands: list[str]
    signed_in: np.ndarray  # bool
    labels: dict[str, np.ndarray]  # head -> 0/1


def _ece(p: np.ndarray, y: np.ndarray, bins: int = 10) -> float:
    """Expected calibration error: the mean |predicted - observed| over equal-count bins."""
    order = np.argsort(p)
    total = 0.0
    for chunk in np.array_split(order, bins):
        if len(chunk):
            total += len(chunk) * abs(float(p[chunk].mean()) - float(y[chunk].mean()))
    return total / max(len(p), 1)


def _auc(p: np.ndarray, y: np.ndarray) -> float:
    pos, neg = int(y.sum()), int(len(y) - y.sum())
    if pos == 0 or neg == 0:
        return 0.5
    ranks = np.empty(len(p))
    ranks[np.argsort(p, kind="mergesort")] = np.arange(1, len(p) + 1)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def _log_loss(p: np.ndarray, y: np.ndarray) -> float:
    p = np.clip(p, EPS, 1 - EPS)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def fit(rows: TrainingRows, *, seed: int = 0) -> tuple[dict[str, Head], dict[str, Any]]:
    """Fit each head: 60 % of rows for the regression, 20 % for the calibration curve, 20 %
    held out for the metrics. Returns the heads and their metrics."""
    from sklearn.linear_model import LogisticRegression

    n = len(rows.ad_ids)
    if n < 100:
        raise ValueError(f"too few impressions to train on ({n})")
    rng = np.random.default_rng(seed)
    order = rng.permutation(n)
    fit_part, cal_part, test_part = np.split(order, [int(n * 0.6), int(n * 0.8)])
    viewer = _viewer_columns(rows.age_bands, rows.signed_in.tolist())
    heads: dict[str, Head] = {}
    metrics: dict[str, Any] = {"rows": n}
    for head in HEADS:
        y = rows.labels[head].astype(np.float64)
        # Per-ad counts from the regression's rows only (calibration and test rows are
        # then new to them, as tomorrow's are).
        counts: dict[int, list[int]] = {}
        for ad, label in zip(rows.ad_ids[fit_part].tolist(), y[fit_part].tolist(), strict=True):
            c = counts.setdefault(int(ad), [0, 0])
            c[0] += 1
            c[1] += int(label)
        global_rate = float(y[fit_part].mean()) if len(fit_part) else PRIOR_RATES[head]
        global_rate = min(max(global_rate, EPS), 1 - EPS)
        m, s = global_rate, PRIOR_STRENGTH
        # Leave-one-out ad rates for the regression's own rows.
        loo = np.empty(len(fit_part))
        for i, (ad, label) in enumerate(
            zip(rows.ad_ids[fit_part].tolist(), y[fit_part].tolist(), strict=True)
        ):
            n_ad, k_ad = counts[int(ad)]
            loo[i] = (k_ad - label + m * s) / (n_ad - 1 + s)
        x_fit = np.column_stack([_logit(loo), viewer[fit_part]])
        model = LogisticRegression(C=1.0, max_iter=1000)
        model.fit(x_fit, y[fit_part])
        partial = Head(
            global_rate=global_rate,
            ad_counts={k: (v[0], v[1]) for k, v in counts.items()},
            coef=tuple(float(c) for c in model.coef_[0]),
            intercept=float(model.intercept_[0]),
        )
        # Platt scaling on rows the regression did not see (isotonic steps overfit the
        # rare positives of clicks: whole bins at 0).
        raw_cal = partial.predict(rows.ad_ids[cal_part].tolist(), viewer[cal_part])
        platt = LogisticRegression(C=1e6, max_iter=1000)
        platt.fit(_logit(raw_cal).reshape(-1, 1), y[cal_part])
        calibrated = Head(
            global_rate=global_rate,
            ad_counts=partial.ad_counts,
            coef=partial.coef,
            intercept=partial.intercept,
            platt_a=float(platt.coef_[0][0]),
            platt_b=float(platt.intercept_[0]),
        )
        heads[head] = calibrated
        p_test = calibrated.predict(rows.ad_ids[test_part].tolist(), viewer[test_part])
        y_test = y[test_part]
        prior = np.full(len(test_part), global_rate)
        metrics[head] = {
            "auc": round(_auc(p_test, y_test), 4),
            "log_loss": round(_log_loss(p_test, y_test), 5),
            "log_loss_prior": round(_log_loss(prior, y_test), 5),
            "ece": round(_ece(p_test, y_test), 5),
            "mean_predicted": round(float(p_test.mean()), 5),
            "mean_observed": round(float(y_test.mean()), 5),
        }
    return heads, metrics


def rows_from_events(*, days: int = 14) -> TrainingRows:
    """Valid impressions of the last `days` and whether the same auction had a valid click
    / 2-second view (two indexed reads, then numpy)."""
    from datetime import timedelta

    from django.utils import timezone

    from apps.ads.models import AdEvent

    since = timezone.now() - timedelta(days=days)
    valid = AdEvent.objects.filter(created_at__gte=since, invalid_reason="")
    impressions = list(
        valid.filter(kind="impression").values_list("auction_id", "ad_id", "age_band", "user_id")
    )
    positives: dict[str, set[int]] = {h: set() for h in HEADS}
    for auction_id, kind in valid.filter(kind__in=HEADS).values_list("auction_id", "kind"):
        positives[kind].add(int(auction_id))
    auctions = [int(r[0]) for r in impressions]
    return TrainingRows(
        ad_ids=np.asarray([int(r[1]) for r in impressions], dtype=np.int64),
        age_bands=[r[2] or "" for r in impressions],
        signed_in=np.asarray([r[3] is not None for r in impressions], dtype=bool),
        labels={h: np.asarray([a in positives[h] for a in auctions], dtype=np.int8) for h in HEADS},
    )


def train_from_events(*, days: int = 14, activate: bool = True) -> Any:
    """Train on the ad events and store a new AdPredictor (active at once when `activate`:
    a predictor is only ever a better prior, and the old one stays to switch back to)."""
    from django.db import transaction
    from django.db.models import Max

    from apps.ads.models import AdPredictor

    rows = rows_from_events(days=days)
    heads, metrics = fit(rows)
    with transaction.atomic():
        top = AdPredictor.objects.aggregate(v=Max("version"))["v"] or 0
        if activate:
            AdPredictor.objects.filter(active=True).update(active=False)
        made = AdPredictor.objects.create(
            version=top + 1,
            params={h: heads[h].to_json() for h in heads},
            metrics=metrics,
            trained_rows=len(rows.ad_ids),
            active=activate,
        )
    forget()
    return made


# --- the process's current predictor ----------------------------------------------------

_lock = threading.Lock()
_current: Predictor | None = None
_checked_at = 0.0


def current() -> Predictor:
    """The active predictor (or the priors), re-read at most every RELOAD_SECONDS."""
    global _current, _checked_at
    now = time.monotonic()
    if _current is not None and now - _checked_at < RELOAD_SECONDS:
        return _current
    with _lock:
        if _current is not None and now - _checked_at < RELOAD_SECONDS:
            return _current
        from apps.ads.models import AdPredictor

        row = AdPredictor.objects.filter(active=True).values("version", "params").first()
        if row is None:
            _current = Predictor(None)
        elif _current is None or _current.version != row["version"]:
            _current = Predictor(
                {h: Head.from_json(p) for h, p in row["params"].items()}, row["version"]
            )
        _checked_at = now
        return _current


def forget() -> None:
    global _current, _checked_at
    with _lock:
        _current = None
        _checked_at = 0.0


def logit_gap(p: float) -> float:
    """(For reports) how far a rate is from even odds."""
    return math.log(max(p, EPS) / max(1 - p, EPS))
