"""On-screen text as policy-engine inputs: the text OCR read from an upload's sampled frames
(`features["ocr"]`, `detection.ocr`) goes through the same checks as a caption — staff
term lists (the uploader's language and the lists for all), the English abuse classifier,
the multilingual text heads and link risk under the caption surface's thresholds — with
every signal's source prefixed `ocr:` so a decision says the text was on screen.

Evaluated from the stored features (a re-scan re-reads nothing). Self-harm on screen offers
the uploader support resources (`support`), like a caption: never a punishment."""

from __future__ import annotations

from typing import Any

from apps.media.models import MediaAsset
from apps.moderation.detection import heads, text
from apps.moderation.detection.engine import Match, Signal
from apps.moderation.detection.services import support, text_heads
from apps.moderation.detection.services.config import _term_lists
from apps.moderation.policies import Policy

PREFIX = "ocr:"
FIELD = "caption"  # on-screen text is the post's public text: the caption's thresholds


def ocr_text(features: dict[str, Any]) -> str:
    found = features.get("ocr") or {}
    return str(found.get("text") or "") if isinstance(found, dict) else ""


def _language(asset_id: int | None) -> str:
    if asset_id is None:
        return ""
    return str(
        MediaAsset.objects.filter(pk=asset_id).values_list("owner__language", flat=True).first()
        or ""
    )


def ocr_findings(
    features: dict[str, Any], *, asset_id: int | None = None
) -> tuple[list[Signal], list[Match], dict[str, Any]]:
    """The signals and term matches of the upload's on-screen text, and what the record
    keeps (the text, the heads' scores, the frames read). Nothing when OCR read nothing."""
    content = ocr_text(features)
    if not content.strip():
        return [], [], {}
    language = _language(asset_id)
    signals = [
        Signal(Policy.HATE_HARASSMENT, f"{PREFIX}abuse_classifier", text.abuse_score(content))
    ]
    head_signals, head_scores = text_heads.head_findings(content, field=FIELD)
    link_signals, link_scores = text_heads.link_findings(content, field=FIELD)
    for signal in [*head_signals, *link_signals]:
        signals.append(
            Signal(signal.policy, PREFIX + signal.source, signal.score, rule=signal.rule)
        )
    lists = _term_lists(language)
    by_id = {row.pk: row for row in lists}
    hits = text.term_hits(content, [(row.pk, text.parse_terms(row.terms)) for row in lists])
    matches = [
        Match(
            by_id[hit.list_id].policy,
            f"{PREFIX}terms",
            by_id[hit.list_id].outcome,
            {
                "list": by_id[hit.list_id].name,
                "list_id": str(hit.list_id),
                "language": by_id[hit.list_id].language,
                "term": hit.term,
            },
        )
        for hit in hits
    ]
    record = {
        "text": content,
        "language": language,
        "heads": {k: v for k, v in head_scores.items() if k in heads.CATEGORIES},
        "link_risk": link_scores.get("max") if link_scores else None,
    }
    return signals, matches, record


def ocr_evidence(features: dict[str, Any]) -> dict[str, Any]:
    """What a case entry and the upload's scan record show: the on-screen text, the frames
    it was read from, and the heads' categories from 0.5 (self-harm: offer support)."""
    found = features.get("ocr")
    if not isinstance(found, dict):
        return {}
    content = ocr_text(features)
    if not content.strip():
        return {"ocr_frames_read": len(found.get("frames") or [])} if found else {}
    scores = heads.text_scores(content) or {}
    flagged = sorted(c for c, s in scores.items() if c in heads.CATEGORIES and s >= 0.5)
    extra: dict[str, Any] = {
        "ocr_text": content,
        "ocr_frames": [
            f.get("frame")
            for f in found.get("frames") or []
            if isinstance(f, dict) and f.get("lines")
        ],
    }
    if flagged:
        extra["ocr_categories"] = flagged
    if "self_harm" in flagged:
        extra["support"] = "Offer support resources (self-harm on screen): not a punishment case."
    return extra


def ocr_support_offer(features: dict[str, Any], *, asset_id: int) -> bool:
    """Self-harm read on screen: the uploader is offered support resources (after commit;
    at most once a day). True when offered."""
    content = ocr_text(features)
    if not content.strip():
        return False
    owner = (
        MediaAsset.objects.filter(pk=asset_id).values_list("owner_id", "owner__language").first()
    )
    if owner is None:
        return False
    offer = support.support_offer_send(
        user_id=owner[0], language=str(owner[1] or ""), head_scores=heads.text_scores(content)
    )
    return offer is not None
