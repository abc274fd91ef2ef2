"""The ranker's LightGBM heads compiled to machine code (lleaves) for serving.

LightGBM's own predict walks each of a head's trees node by node for every row: on a
scored page (four heads, ~300 rows) that was ~3.5 ms of thread CPU, the largest single
step. lleaves compiles a booster's trees into a native function (LLVM), ~10x faster on
those rows, with the same thresholds and leaf values in float64 (outputs equal to
LightGBM's within ~1e-15 before serving casts them to float32; see docs/benchmarks.md).

Compiling costs ~3 s of CPU a head, so it never runs on a request: `attach` loads the
compiled heads from a per-machine cache (keyed by the model's text, the library versions
and the host CPU), and compiles the missing ones in one background thread, the model
predicting with LightGBM until then; each server process of a machine whose cache lacks
a new model compiles it once (nothing compiles ahead: training runs on a worker, maybe on
another machine). `compile_now` compiles synchronously (the tests use it). Without lleaves,
or when a compile fails, the heads stay on LightGBM: nothing else changes."""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from django.conf import settings

if TYPE_CHECKING:
    from apps.feed.ranking import LoadedModel

logger = logging.getLogger(__name__)

Predict = Callable[[np.ndarray], np.ndarray]

_compiling: set[str] = set()  # cache keys being compiled in this process
_lock = threading.Lock()


def available() -> bool:
    try:
        import lleaves  # type: ignore[import-untyped]  # noqa: F401
    except ImportError:
        return False
    return True


def background_enabled() -> bool:
    """settings.SWIPEME_FEED_COMPILE_RANKER (the test settings turn it off), else the
    environment's (default on)."""
    configured = getattr(settings, "SWIPEME_FEED_COMPILE_RANKER", None)
    if configured is not None:
        return bool(configured)
    return os.environ.get("SWIPEME_FEED_COMPILE_RANKER", "1") != "0"


def cache_dir() -> Path:
    return Path(getattr(settings, "SWIPEME_FEED_COMPILED_DIR", "")
                or os.environ.get("SWIPEME_FEED_COMPILED_DIR", "")
                or settings.VAR_DIR / "feed-compiled")


def _key(text: str) -> str:
    from importlib.metadata import version

    from llvmlite import binding  # type: ignore[import-untyped]

    salt = f"{version('lleaves')}|{version('llvmlite')}|{binding.get_host_cpu_name()}"
    return hashlib.sha256(f"{salt}\n{text}".encode()).hexdigest()[:32]


def _boosters(model: LoadedModel) -> dict[str, Any]:
    return {head: est.booster_ for head, est in model.heads.items()
            if getattr(est, "booster_", None) is not None}


def _load(text: str, key: str, *, compile_missing: bool) -> Predict | None:
    """The compiled predict of one booster (its model text), from the cache; compiled and
    written to the cache first when `compile_missing`, else None when not cached."""
    import lleaves

    folder = cache_dir()
    lib, model_file = folder / f"{key}.so", folder / f"{key}.txt"
    if not (lib.exists() and model_file.exists()):
        if not compile_missing:
            return None
        folder.mkdir(parents=True, exist_ok=True)
        # Written under temporary names, then renamed: a reader never sees half a file.
        fd, tmp_txt = tempfile.mkstemp(dir=folder, suffix=".txt")
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        tmp_lib = f"{tmp_txt[:-4]}.so"
        lleaves.Model(model_file=tmp_txt).compile(cache=tmp_lib)
        os.replace(tmp_txt, model_file)
        os.replace(tmp_lib, lib)
    compiled = lleaves.Model(model_file=str(model_file))
    compiled.compile(cache=str(lib))

    def predict(x: np.ndarray) -> np.ndarray:
        # One thread: the request's (the call drops the GIL while the trees run).
        out: np.ndarray = compiled.predict(x, n_jobs=1)
        return out

    return predict


def _attach_all(model: LoadedModel, texts: dict[str, str], *, compile_missing: bool) -> int:
    found: dict[str, Predict] = {}
    for head, text in texts.items():
        predict = _load(text, _key(text), compile_missing=compile_missing)
        if predict is None:
            return 0
        found[head] = predict
    # All heads or none: a page's heads come from one implementation.
    model.compiled = found
    return len(found)


def compile_now(model: LoadedModel) -> int:
    """Compiles (or loads from the cache) every LightGBM head of `model` and attaches
    them; the number attached (0 without lleaves or on failure)."""
    if not available():
        return 0
    texts = {head: b.model_to_string() for head, b in _boosters(model).items()}
    try:
        return _attach_all(model, texts, compile_missing=True)
    except Exception:
        logger.exception("feed: compiling ranker v%s failed; LightGBM predicts", model.version)
        return 0


def attach(model: LoadedModel, *, background: bool = True) -> bool:
    """Attaches the compiled heads when the cache has them all; otherwise starts one
    background compile (per model text and process) that attaches them when done.
    True when attached now."""
    if not available():
        return False
    texts = {head: b.model_to_string() for head, b in _boosters(model).items()}
    if not texts:
        return False
    try:
        if _attach_all(model, texts, compile_missing=False):
            return True
    except Exception:
        logger.exception("feed: loading compiled ranker v%s failed", model.version)
        return False
    if background:
        job = hashlib.sha256("".join(texts.values()).encode()).hexdigest()
        with _lock:
            if job in _compiling:
                return False
            _compiling.add(job)

        def run() -> None:
            try:
                compile_now(model)
            finally:
                with _lock:
                    _compiling.discard(job)

        threading.Thread(target=run, name=f"feed-compile-v{model.version}",
                         daemon=True).start()
    return False
