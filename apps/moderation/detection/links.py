"""Link risk: each link in a text scored by `fraudurl` (MIT; a small gradient-boosted model
over the URL's text alone, run offline: it never resolves or visits a link), with its
plain-English reasons. The riskiest link's probability is the `link_risk` signal of the
policy engine under per-surface thresholds (`SurfaceThreshold`, category `link_risk`).

Shorteners (bit.ly, …) are left to the spam signal (`text.link_spam_score`): the model
scores every shortened link ~0.98 because it hides its destination, which says nothing of
where it goes. The model loads once per process (~30 ms)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib.metadata import version
from typing import Any

from apps.moderation.detection import text

MAX_LINKS = 10  # per text: a flood of links costs no more (and is spam anyway)


@dataclass(frozen=True)
class LinkRisk:
    url: str
    probability: float
    reasons: tuple[str, ...] = ()

    def as_json(self) -> dict[str, Any]:
        return {"url": self.url[:300], "p": self.probability, "reasons": list(self.reasons)}


@lru_cache(maxsize=1)
def _model() -> Any:
    from fraudurl.cli import MODEL_SAFE  # type: ignore[import-untyped]
    from fraudurl.model import Model  # type: ignore[import-untyped]

    return Model(MODEL_SAFE)


def model_version() -> str:
    return f"fraudurl-{version('fraudurl')}"


def _host(link: str) -> str:
    return re.sub(r"^(?:https?://)?(?:www\.)?", "", link.lower()).split("/")[0].split(":")[0]


def score_url(url: str) -> LinkRisk | None:
    """One link's phishing probability and its top reasons (None: not a URL)."""
    from fraudurl.lexical import extract  # type: ignore[import-untyped]
    from fraudurl.reasons import describe  # type: ignore[import-untyped]

    url = url.strip().rstrip(".,;:!?)]}\"'")
    if not url or any(ch.isspace() for ch in url):
        return None
    feats = extract(url)
    if feats.get("parse_error") or (
        not feats.get("host_is_ip") and feats.get("host_n_labels", 0) < 2
    ):
        return None
    model = _model()
    _raw, p, contrib, x = model.predict(feats, want_reasons=True)
    order = sorted(range(len(contrib)), key=lambda j: -contrib[j])
    names = list(model.features)
    reasons = [
        r
        for r in (
            describe(names[j], x[j], contrib[j], feats)
            for j in order
            if contrib[j] > 0.05 and x[j] == x[j]
        )
        if r
    ][:3]
    return LinkRisk(url, round(float(p), 4), tuple(reasons))


def link_risks(content: str) -> list[LinkRisk]:
    """Every link of the text but shorteners, riskiest first."""
    found: list[LinkRisk] = []
    for link in dict.fromkeys(text.links(content)):
        if len(found) >= MAX_LINKS:
            break
        if _host(link) in text.SHORTENERS:
            continue
        risk = score_url(link)
        if risk is not None:
            found.append(risk)
    return sorted(found, key=lambda r: -r.probability)
