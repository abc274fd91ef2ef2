"""The predictor: calibrated on simulated ad events whose true rates are known, better
than the prior, new ads at the prior, and the quality factor."""

from __future__ import annotations

import numpy as np
import pytest

from apps.ads.delivery import predict
from apps.ads.delivery.predict import Predictor, TrainingRows


def _simulate(n: int, seed: int) -> tuple[TrainingRows, dict[int, float], np.ndarray]:
    """200 ads with their own click propensity; age band and signing in move it too."""
    world = np.random.default_rng(0)  # the same ads in every sample
    ad_logit = {a: world.normal(-4.2, 0.7) for a in range(1, 201)}
    rng = np.random.default_rng(seed)
    ads = rng.integers(1, 201, size=n)
    bands = rng.choice(list(predict.AGE_BANDS), size=n)
    band_shift = dict(zip(predict.AGE_BANDS, (-0.4, 0.5, 0.3, 0.0, -0.2, -0.3, -0.5), strict=True))
    signed = rng.random(n) < 0.7
    z = (
        np.array([ad_logit[a] for a in ads])
        + np.array([band_shift[b] for b in bands])
        + 0.3 * signed
    )
    true_p = 1 / (1 + np.exp(-z))
    clicks = (rng.random(n) < true_p).astype(np.int8)
    views = (rng.random(n) < np.clip(true_p * 25, 0, 0.9)).astype(np.int8)
    rows = TrainingRows(
        ad_ids=ads.astype(np.int64),
        age_bands=list(bands),
        signed_in=signed,
        labels={"click": clicks, "view_2s": views},
    )
    return rows, {a: float(v) for a, v in ad_logit.items()}, true_p


def test_the_model_is_calibrated_and_beats_the_prior_on_held_out_rows() -> None:
    rows, _, _ = _simulate(120_000, seed=1)
    heads, metrics = predict.fit(rows, seed=2)
    for head in predict.HEADS:
        m = metrics[head]
        assert m["ece"] < 0.1 * m["mean_observed"] + 0.002  # calibrated within ~10 %
        assert m["log_loss"] < m["log_loss_prior"]
        assert m["auc"] > 0.6
    # On fresh simulated traffic, predictions by decile follow the true rates.
    fresh, _, true_p = _simulate(60_000, seed=3)
    viewer = predict._viewer_columns(fresh.age_bands, fresh.signed_in.tolist())
    p = heads["click"].predict(fresh.ad_ids.tolist(), viewer)
    order = np.argsort(p)
    for chunk in np.array_split(order, 10):
        observed = fresh.labels["click"][chunk].mean()
        assert abs(p[chunk].mean() - observed) < 0.25 * observed + 0.002
        assert abs(true_p[chunk].mean() - observed) < 0.25 * observed + 0.002


def test_a_new_ad_gets_the_prior_and_the_model_round_trips_through_json() -> None:
    rows, _, _ = _simulate(20_000, seed=4)
    heads, _ = predict.fit(rows)
    restored = {h: predict.Head.from_json(heads[h].to_json()) for h in heads}
    model = Predictor(restored, version=1)
    out = model.predict([10**12, 5], age_band="25-34", signed_in=True)
    # An unseen ad's rate feature is the global rate: its prediction is near it.
    assert heads["click"].ad_rate([10**12])[0] == pytest.approx(heads["click"].global_rate)
    assert 0.3 * heads["click"].global_rate < out.p_click[0] < 3 * heads["click"].global_rate
    again = Predictor(heads, 1).predict([10**12, 5], age_band="25-34", signed_in=True)
    assert np.allclose(out.p_click, again.p_click)


def test_without_a_model_the_priors_and_quality_one() -> None:
    out = Predictor(None).predict([1, 2, 3], age_band="", signed_in=False)
    assert out.p_click.tolist() == [0.01] * 3
    assert out.p_view_2s.tolist() == [0.35] * 3
    assert out.quality.tolist() == [1.0] * 3


def test_quality_falls_with_quick_skips() -> None:
    rows, _, _ = _simulate(30_000, seed=5)
    heads, _ = predict.fit(rows)
    model = Predictor(heads, 1)
    counts = heads["view_2s"].ad_counts
    worst = min(counts, key=lambda a: counts[a][1] / counts[a][0])
    best = max(counts, key=lambda a: counts[a][1] / counts[a][0])
    out = model.predict([worst, best], age_band="18-24", signed_in=True)
    assert out.quality[0] < out.quality[1] <= 1.0
    assert out.quality[0] >= predict.QUALITY_FLOOR


def test_too_few_rows_are_refused() -> None:
    rows, _, _ = _simulate(50, seed=6)
    with pytest.raises(ValueError, match="too few"):
        predict.fit(rows)
