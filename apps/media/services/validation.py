"""Validation and planning: probing an uploaded source, rejecting or failing an asset,
planning and queueing its processing steps.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.ids import allocate_ids
from apps.media import av1, hooks, s3, transcode
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import ProbeResult, Rejected, probe_file
from apps.media.services._common import (
    EXTRA_STEPS,
    FROM_LADDER_STEPS,
    IN_FLIGHT,
    LADDER_STEP,
    RENDITION_PREFIX,
    VALIDATE,
    State,
    StepState,
    _enqueue_steps,
    _local_source,
    _remove_source,
    _step_finish,
)
from apps.media.services.early_playback import needs_early_playback
from apps.media.services.notify import _notify_now, _notify_on_commit, _run_hooks
from apps.media.services.recipe import _refresh_progress


def _step_names(probe: ProbeResult, *, early: bool = True) -> list[str]:
    """With someone waiting to play (`early`, `needs_early_playback`): the lowest rendition
    alone first (it makes the asset playable soon), then the rest of the ladder from one
    decode (`ladder`, which also makes the per-title plan and writes the poster
    candidates, preview, storyboard, audio and moderation frames), then the steps that
    publish those and the MP4 remuxed from a rendition. With nobody waiting: every rung
    from the `ladder` step's one decode, then the same steps."""
    ladder = transcode.plan_ladder(probe)
    extras = [name for name in EXTRA_STEPS if name != "audio" or probe.has_audio]
    rest = [name for name in extras if name not in ("poster", "mp4")]
    if not early:
        # every rung from one decode: the least CPU, but playable only when all are done
        return [LADDER_STEP, "poster", *rest, "mp4"]
    upper = [LADDER_STEP] if len(ladder) > 1 else []
    return [f"{RENDITION_PREFIX}{ladder[0].short_edge}", *upper, "poster", *rest, "mp4"]


def asset_process(*, asset_id: int, task_id: str) -> str:
    """Validates the upload by its content and plans the steps. Returns what happened."""
    moved = MediaAsset.objects.filter(pk=asset_id, state=State.UPLOADED).update(
        state=State.VALIDATING, updated_at=timezone.now()
    )
    asset = MediaAsset.objects.filter(pk=asset_id).first()
    if asset is None:
        return "missing"
    if not moved and asset.state != State.VALIDATING:
        if asset.state == State.PROCESSING:
            return _enqueue_missing_steps(asset_id)
        return f"skipped ({asset.state})"
    _notify_now(asset_id)
    step, _ = ProcessingStep.objects.get_or_create(asset_id=asset_id, name=VALIDATE)
    ProcessingStep.objects.filter(pk=step.pk).update(
        state=StepState.RUNNING, claimed_by=task_id, attempts=F("attempts") + 1,
        started_at=timezone.now(), heartbeat_at=timezone.now(), finished_at=None,
    )
    try:
        source = _local_source(asset_id)
        probe = _rewrite_source(asset_id, source, probe_file(
            source, clamd_address=settings.MEDIA_CLAMD_ADDRESS))
    except Rejected as verdict:
        _step_finish(step.pk, task_id, output={"rejected": verdict.reason}, log="")
        asset_reject(asset_id=asset_id, reason=verdict.reason)
        return "rejected"
    except FileNotFoundError:
        _step_finish(step.pk, task_id, output={"rejected": "missing"}, log="")
        asset_reject(asset_id=asset_id, reason="The uploaded file is missing.")
        return "rejected"
    # the per-title plan is made by the `ladder` step (`recipe._plan_title`), off the
    # playable path: the steps are the same with or without it
    playback = needs_early_playback(asset, probe)
    names = _step_names(probe, early=playback.early)
    if (asset.outputs or {}).get("av1"):
        names.append(av1.STEP)  # reprocessed after it earned AV1: made again (bulk queue)
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().get(pk=asset_id)
        if asset.state != State.VALIDATING:
            return f"skipped ({asset.state})"
        _step_finish(step.pk, task_id, output=probe.as_json(), log="")
        # a reprocess plans its ladder again; `playback`: the plan chosen, and why
        asset.probe = {**probe.as_json(), "playback": playback.as_json()}
        asset.width, asset.height = probe.width, probe.height
        asset.duration_ms = int(probe.duration_s * 1000)
        asset.frame_rate = transcode.output_fps(probe)
        asset.state = State.PROCESSING
        asset.processing_started_at = timezone.now()
        asset.save(update_fields=["probe", "width", "height", "duration_ms", "frame_rate",
                                  "state", "processing_started_at", "updated_at"])
        existing = set(
            ProcessingStep.objects.filter(asset_id=asset_id).values_list("name", flat=True)
        )
        missing = [name for name in names if name not in existing]
        if missing:
            ids = allocate_ids(len(missing))
            ProcessingStep.objects.bulk_create(
                [ProcessingStep(id=i, asset_id=asset_id, name=name)
                 for i, name in zip(ids, missing, strict=True)],
                ignore_conflicts=True,
            )
        _refresh_progress(asset)
        # with a `ladder` step, what is made from its decode waits for it (it sends them)
        _enqueue_steps(asset_id, [name for name in names if LADDER_STEP not in names
                                  or name not in FROM_LADDER_STEPS])
        _notify_on_commit(asset_id)
    return "planned"


def _rewrite_source(asset_id: int, source: Path, probe: ProbeResult) -> ProbeResult:
    """The accepted file is rewritten (streams copied into a fresh container) and the new
    file becomes the source we keep and transcode: whatever else the upload carried —
    a payload in a box or chunk we do not know, bytes inside `mdat` that no sample points
    at — does not survive. The rewritten file is checked again, as any upload."""
    clean = source.with_name(f".{source.name}.clean")
    try:
        transcode.remux_clean(source, clean, container=probe.container,
                              has_audio=probe.has_audio)
        kept = probe_file(clean)
    except transcode.ToolFailed as exc:
        clean.unlink(missing_ok=True)
        raise Rejected("The file's streams cannot be copied out of its container (the "
                       "file's structure is inconsistent or corrupt).") from exc
    except Rejected:
        clean.unlink(missing_ok=True)
        raise
    os.replace(clean, source)
    if s3.enabled():
        s3.replace_source(asset_id, source)
    return kept


def _enqueue_missing_steps(asset_id: int) -> str:
    """An asset already planned (the sweep's re-queue, a redelivered task): a task for
    every step still to do, including one whose worker stopped heart-beating."""
    stale = timezone.now() - timedelta(seconds=settings.MEDIA_STEP_STALL_SECONDS)
    names = list(
        ProcessingStep.objects.filter(
            Q(state__in=[StepState.PENDING, StepState.FAILED])
            | Q(state=StepState.RUNNING, heartbeat_at__lt=stale),
            asset_id=asset_id,
        ).order_by("id").values_list("name", flat=True)
    )
    with transaction.atomic():
        _enqueue_steps(asset_id, names)
    return "requeued"


def asset_reject(*, asset_id: int, reason: str) -> bool:
    with transaction.atomic():
        moved = MediaAsset.objects.filter(pk=asset_id, state__in=IN_FLIGHT).update(
            state=State.REJECTED, state_reason=reason[:300], updated_at=timezone.now()
        )
        if moved:
            transaction.on_commit(lambda: _run_hooks(hooks.run_asset_failed_hooks, asset_id))
            _notify_on_commit(asset_id)
    if moved:
        _remove_source(asset_id)
    return bool(moved)


def asset_fail(*, asset_id: int, reason: str) -> bool:
    with transaction.atomic():
        moved = MediaAsset.objects.filter(pk=asset_id, state__in=IN_FLIGHT).update(
            state=State.FAILED, state_reason=reason[:300], updated_at=timezone.now()
        )
        if moved:
            transaction.on_commit(lambda: _run_hooks(hooks.run_asset_failed_hooks, asset_id))
            _notify_on_commit(asset_id)
    return bool(moved)
