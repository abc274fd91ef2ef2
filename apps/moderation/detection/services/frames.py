"""One frame through the nudity check, under staff's nudity rule: live's frame sampler asks
this every few seconds of a live on air (the upload pipeline scans its own frames in
`scans`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from apps.moderation.detection import nudity
from apps.moderation.detection.engine import Signal, Verdict, evaluate
from apps.moderation.detection.services.config import _rules
from apps.moderation.policies import Policy


def frame_nudity_verdict(path: Path) -> tuple[dict[str, Any], Verdict]:
    """The frame's finding (`nudity.frame_finding`: the explicit score weighed by skin and
    detail) and the engine's outcome for it under the nudity rule (block, review, ...)."""
    finding = nudity.frame_finding(path)
    signal = Signal(Policy.NUDITY_SEXUAL, "nudity", float(finding["explicit"]))
    return finding, evaluate([signal], [], _rules())
