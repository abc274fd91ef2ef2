"""The ranker artefact is loaded by serving, which must never import training (the
import-linter contract checks the code; this checks what the pickled artefact needs)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from apps.feed import training
from apps.feed.artifacts import ConstantHead, dump_artifact


def test_an_artefact_with_a_constant_head_loads_without_importing_training(tmp_path):
    # given heads fitted on labels where nobody followed: the follow head is a constant
    rng = np.random.default_rng(0)
    x = rng.random((80, 4)).astype(np.float32)
    labels: dict[str, np.ndarray] = {
        "completion": (x[:, 0] > 0.5).astype(np.int8), "watch": x[:, 1],
        "like": (x[:, 2] > 0.5).astype(np.int8), "follow": np.zeros(80, np.int8)}
    dataset = training.Dataset(x=x, user=np.arange(80), post=np.arange(80), labels=labels,
                               now=0.0)
    heads = training.fit_heads(dataset, n_jobs=1)
    assert isinstance(heads["follow"], ConstantHead)
    artefact = tmp_path / "ranker.joblib"
    artefact.write_bytes(dump_artifact(training.TrainResult(
        heads=heads, metrics={}, cf_users={}, cf_items={}, trained_on={})))

    # when a fresh process (as serving) loads it
    script = (
        "import sys, django; django.setup(); import joblib\n"
        "before = 'apps.feed.training' in sys.modules\n"
        f"blob = joblib.load({str(artefact)!r})\n"
        "print(before, 'apps.feed.training' in sys.modules,"
        " float(blob['heads']['follow'].predict_proba([[0, 0, 0, 0]])[0, 1]))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[2], timeout=120, check=False)

    # then training was never imported, and the head still answers the base rate
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "False", "0.0"]
