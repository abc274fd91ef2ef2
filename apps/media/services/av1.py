"""AV1 renditions for the videos that earn them (issue 23): requesting the `av1` step (a post
past the view threshold, `manage.py media_reprocess --av1`) and its work.

The step is an ordinary `ProcessingStep` (claimed, retried, its output and log kept) that
runs on an asset already `ready` as well as one still processing, always on the bulk queue
(`apps.media.routing`), so it never delays a person's upload; the asset's readiness and
progress leave it out (a ready video stays ready while its AV1 copy is made). Its
renditions join the master playlist when it commits (`recipe._after_step`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.audit import Actor, record_audit
from apps.media import av1, hooks, storage, transcode
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import ProbeResult
from apps.media.services._common import State, StepState, _enqueue_steps

STEP = av1.STEP


def av1_view_threshold() -> int:
    """Views past which a post gets AV1 renditions: the staff flag's value (through the
    hook), else the setting; 0 means never."""
    answer = hooks.av1_view_threshold_answer()
    threshold = answer if answer is not None else int(settings.MEDIA_AV1_VIEW_THRESHOLD)
    return max(0, threshold)


def asset_av1_request(
    *, asset_id: int, via: str, redo: bool = False, actor: Actor = None, reason: str = ""
) -> bool:
    """Plans and sends the asset's `av1` step, once: an asset that has the step already
    (queued, running, done) is left alone unless `redo` (a done or failed step is run
    again). Only a processed asset with a kept source qualifies. `via` says who asked
    ("views" for the threshold; a staff or command request is audited)."""
    with transaction.atomic():
        asset = (
            MediaAsset.objects.select_for_update()
            .filter(pk=asset_id, state__in=[State.READY, State.PROCESSING])
            .first()
        )
        if asset is None or not asset.probe:
            return False
        step, created = ProcessingStep.objects.get_or_create(asset_id=asset_id, name=STEP)
        if not created:
            if not redo or step.state == StepState.RUNNING:
                return False
            ProcessingStep.objects.filter(pk=step.pk).update(
                state=StepState.PENDING,
                claimed_by="",
                attempts=0,
                finished_at=None,
                updated_at=timezone.now(),
            )
        if via != "views":
            record_audit(
                actor=actor,
                action="media.asset_av1_request",
                target=(MediaAsset._meta.model_name or "mediaasset", asset_id),
                reason=reason,
                via=via,
            )
        _enqueue_steps(asset_id, [STEP])
    return True


def assets_av1_views_passed(crossed: list[int]) -> int:
    """Assets whose post just passed the threshold (engagement's counter flush): each gets
    its `av1` step once. Returns how many were sent."""
    return sum(asset_av1_request(asset_id=asset_id, via="views") for asset_id in crossed)


def run_step(
    asset_id: int,
    source: Path,
    probe: ProbeResult,
    title: dict[str, Any] | None,
    staged: Path,
    heartbeat: Callable[[], None],
    mix: transcode.SoundMix | None,
    key: dict[str, Any] | None,
) -> tuple[dict[str, Any], str]:
    """Encodes every rung in AV1 from one decode and publishes each rung's directory."""
    rungs = av1.plan(probe, title)
    outputs, log = av1.encode(
        source,
        probe,
        rungs,
        staged,
        preset=settings.MEDIA_AV1_PRESET,
        crf=settings.MEDIA_AV1_CRF,
        heartbeat=heartbeat,
        mix=mix,
    )
    for rung in rungs:
        name = av1.rung_dir(rung.short_edge)
        storage.publish_dir(staged / name, asset_id, f"hls/{name}")
    return {
        "renditions": outputs,
        "recipe": key,
        "preset": settings.MEDIA_AV1_PRESET,
        "crf": settings.MEDIA_AV1_CRF,
    }, log


def av1_renditions(steps: list[ProcessingStep]) -> list[dict[str, Any]]:
    """The AV1 renditions the master lists: those of a finished `av1` step (a step being
    rendered again keeps its finished output, and files, until the new ones are placed)."""
    for step in steps:
        if step.name == STEP and (step.output or {}).get("renditions"):
            return list(step.output["renditions"])
    return []
