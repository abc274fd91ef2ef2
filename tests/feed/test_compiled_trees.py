"""The ranker's LightGBM heads compiled to machine code (apps.feed.compiled_trees): the
same outputs as LightGBM's predict, attached from the per-machine cache when an artefact
loads, compiled off the request path when the cache lacks them."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from apps.feed import compiled_trees, training
from apps.feed.artifacts import MODEL_FEATURES, dump_artifact, load_artifact, to_loaded
from apps.feed.ranking import FEATURES, LoadedModel

pytestmark = pytest.mark.skipif(not compiled_trees.available(), reason="lleaves missing")


def _trained() -> training.TrainResult:
    rng = np.random.default_rng(3)
    x = rng.random((600, len(MODEL_FEATURES))).astype(np.float32)
    x[rng.random(x.shape) < 0.3] = 0.0  # zeros, as most personal features are
    labels: dict[str, np.ndarray] = {
        "completion": (x[:, 2] + 0.3 * x[:, 8] > 0.7).astype(np.int8),
        "watch": x[:, 2] * 2.0 + x[:, 9],
        "like": (x[:, 1] + x[:, 16] > 0.9).astype(np.int8),
        "follow": (x[:, 13] > 0.8).astype(np.int8)}
    dataset = training.Dataset(x=x, user=np.arange(600), post=np.arange(600), labels=labels,
                               now=0.0)
    return training.TrainResult(heads=training.fit_heads(dataset, n_jobs=1), metrics={},
                                cf_users={}, cf_items={}, trained_on={})


def _rows(n: int = 300) -> np.ndarray:
    rng = np.random.default_rng(5)
    x = rng.random((n, len(FEATURES))).astype(np.float32)
    x[rng.random(x.shape) < 0.3] = 0.0
    return x


@pytest.fixture
def cache(tmp_path, settings):
    settings.SWIPEME_FEED_COMPILED_DIR = str(tmp_path / "compiled")
    return tmp_path / "compiled"


def test_compiled_heads_score_exactly_as_lightgbm(cache):
    # given a trained model predicting with LightGBM, and the same model compiled
    result = _trained()
    plain, fast = to_loaded(result), to_loaded(result)
    assert compiled_trees.compile_now(fast) == 4
    assert not plain.compiled
    assert sorted(fast.compiled) == sorted(fast.heads)

    # when both score the same rows
    x = _rows()
    total_plain, heads_plain = plain.score(x)
    total_fast, heads_fast = fast.score(x)

    # then every head's float32 output, the total and so the order are the same
    for head in heads_plain:
        assert np.array_equal(heads_plain[head], heads_fast[head]), head
    assert np.array_equal(total_plain, total_fast)
    assert np.array_equal(np.argsort(-total_plain, kind="stable"),
                          np.argsort(-total_fast, kind="stable"))


def _stored_artefact(result: training.TrainResult) -> str:
    return default_storage.save("rankers/compiled-test.joblib",
                                ContentFile(dump_artifact(result)))


def test_an_artefact_loads_compiled_heads_only_from_the_cache(cache):
    # given a stored artefact and no compiled heads on this machine yet
    result = _trained()
    name = _stored_artefact(result)

    # when serving loads it without background compiles (the test settings)
    cold = load_artifact(name, version=7)

    # then it predicts with LightGBM; once compiled, the next load attaches the cache's
    assert cold.compiled == {}
    assert compiled_trees.compile_now(to_loaded(result)) == 4
    warm = load_artifact(name, version=7)
    assert sorted(warm.compiled) == sorted(warm.heads)
    assert np.array_equal(cold.score(_rows())[0], warm.score(_rows())[0])


def _compile_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("feed-compile-v")]


def test_a_missing_cache_is_compiled_in_the_background(cache):
    # given a model whose heads this machine has not compiled
    model: LoadedModel = to_loaded(_trained(), version=9)

    # when it is attached with background compiles allowed
    attached_now = compiled_trees.attach(model, background=True)

    # then it is not attached at once (LightGBM predicts meanwhile), and the background
    # compile attaches every head when it is done
    assert attached_now is False
    deadline = time.monotonic() + 120  # a wait for the thread, not a timing assertion
    while _compile_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(model.compiled) == sorted(model.heads)
    assert compiled_trees.attach(to_loaded(_trained(), version=9), background=False)
