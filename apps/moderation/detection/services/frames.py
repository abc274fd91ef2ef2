"""One frame through the image signals, under staff's rules: live's frame sampler asks this
every few seconds of a live on air (the upload pipeline scans its own frames in `scans`).

A live frame is judged as an upload's frames are: nudity under the nudity rule, gore and
"possible minor" (a face with a sensitive score: review only, a moderator decides) under
the upload surface's thresholds (`image_signals`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apps.moderation.detection import image_safety, nudity
from apps.moderation.detection.engine import Decision, Signal, Verdict, evaluate
from apps.moderation.detection.models import SEVERITY
from apps.moderation.detection.services.config import _rules
from apps.moderation.detection.services.image_signals import image_evidence, image_signals
from apps.moderation.policies import Policy


def frame_nudity_verdict(path: Path) -> tuple[dict[str, Any], Verdict]:
    """The frame's finding (`nudity.frame_finding`: the explicit score weighed by skin and
    detail) and the engine's outcome for it under the nudity rule (block, review, ...)."""
    finding = nudity.frame_finding(path)
    signal = Signal(Policy.NUDITY_SEXUAL, "nudity", float(finding["explicit"]))
    return finding, evaluate([signal], [], _rules())


def frame_verdict(path: Path) -> tuple[dict[str, Any], Verdict]:
    """Every image signal of one frame: the nudity finding with the gore and face evidence
    under "image" (`image_evidence`), and the engine's outcome over all of them."""
    finding = nudity.frame_finding(path)
    features = {"nudity": {"frames": [finding]}, "image_safety": image_safety.scan_frames([path])}
    signals = [
        Signal(Policy.NUDITY_SEXUAL, "nudity", float(finding["explicit"])),
        *image_signals(features),
    ]
    return {**finding, "image": image_evidence(features)}, evaluate(signals, [], _rules())


def deciding(verdict: Verdict) -> Decision | None:
    """The decision that made the verdict (the most severe; None when allowed)."""
    worst = max(verdict.decisions, key=lambda d: SEVERITY[d.outcome], default=None)
    return None if worst is None or worst.outcome != verdict.outcome else worst


def signal_score(finding: dict[str, Any], source: str) -> float:
    """The score a `frame_verdict` decision of `source` was made on."""
    image = finding.get("image") or {}
    if source == "gore":
        return float(image.get("gore") or 0.0)
    if source == "possible_minor":
        return float((image.get("possible_minor") or {}).get("sensitive") or 0.0)
    return float(finding["explicit"])
