"""The sampled-frame check: every `SWIPEME_LIVE_FRAME_CHECK_SECONDS` (5 s) the beat's
`live.frames_sweep` lists the lives on air (one indexed query: nothing else happens when
nobody is live) and sends one `live.frame_check` per live. A check reads the live's
`frames/latest.jpg` (the transcoder rewrites it every few seconds), skips a frame it has
seen, and runs it through detection's image signals as an upload's frames are judged
(nudity under staff's nudity rule; gore and "possible minor" under their thresholds): an
outcome of *block* opens (or raises) the live's case at P0, *review* at P1, in the live
queue with the frame kept and the signal that decided named; the same live alerts again
only when it gets worse or after a minute."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.cache import cache

from apps.live.models import LiveStream
from apps.live.safety import evidence
from apps.moderation import services as moderation_services
from apps.moderation.detection.models import Outcome
from apps.moderation.detection.services import deciding, frame_verdict, signal_score
from apps.moderation.models import Priority

logger = logging.getLogger(__name__)

ALERT_PRIORITY = {Outcome.BLOCK: Priority.URGENT, Outcome.REVIEW: Priority.HIGH}
REALERT_SECONDS = 60  # the same live at the same level alerts again after this


def on_air_live_ids(limit: int = 2000) -> list[int]:
    """Lives whose media is arriving now (a reconnecting live writes no new frames)."""
    return list(LiveStream.objects.filter(state=LiveStream.State.LIVE)
                .order_by("started_at").values_list("pk", flat=True)[:limit])


def _seen_key(live_id: int) -> str:
    return f"live:frames:seen:{live_id}"


def _alert_key(live_id: int) -> str:
    return f"live:frames:alerted:{live_id}"


def frame_check(live_id: int) -> str:
    """Check the live's latest frame once. Answers what happened (for logs and tests):
    off_air, no_frame, seen, busy, clean, or alerted_p0 / alerted_p1 / held (an alert at
    that level went out less than a minute ago)."""
    live = (LiveStream.objects.filter(pk=live_id, state=LiveStream.State.LIVE)
            .select_related("host").first())
    if live is None:
        return "off_air"
    data, frame_at = evidence.read_frame(live_id)
    if data is None or frame_at is None:
        return "no_frame"
    stamp = f"{frame_at.timestamp():.6f}:{len(data)}"
    if cache.get(_seen_key(live_id)) == stamp:
        return "seen"
    lock = f"live:frames:lock:{live_id}"
    if not cache.add(lock, 1, timeout=30):  # a slow check of this live is still running
        return "busy"
    try:
        # The scored bytes are the kept bytes: the transcoder may rewrite the file meanwhile.
        with tempfile.NamedTemporaryFile(suffix=".jpg") as copy:
            copy.write(data)
            copy.flush()
            finding, verdict = frame_verdict(Path(copy.name))
        cache.set(_seen_key(live_id), stamp, timeout=3600)
        priority = ALERT_PRIORITY.get(Outcome(verdict.outcome))
        decision = deciding(verdict)
        if priority is None or decision is None:
            return "clean"
        last = cache.get(_alert_key(live_id))
        if last is not None and int(last) <= priority:
            return "held"
        cache.set(_alert_key(live_id), int(priority), timeout=REALERT_SECONDS)
        moderation_services.live_frame_alert(
            live=evidence.live_copy(live, frame=data, frame_at=frame_at,
                                    read_latest_frame=False),
            policy=decision.policy, signal=decision.source,
            score=signal_score(finding, decision.source), finding=finding, priority=priority)
        logger.info("live %s: a sampled frame alerted the live queue (P%s, %s)", live_id,
                    priority, decision.source)
        return f"alerted_p{int(priority)}"
    finally:
        cache.delete(lock)


def frames_sweep() -> int:
    """Beat: one check task per live on air. Answers how many were sent."""
    from apps.live.safety import tasks

    ids = on_air_live_ids()
    expires = max(1, int(settings.SWIPEME_LIVE_FRAME_CHECK_SECONDS))
    for live_id in ids:
        # a check not started before the next sweep is dropped: that sweep sends a fresh one
        tasks.frame_check.apply_async(args=[str(live_id)], expires=expires)
    return len(ids)
