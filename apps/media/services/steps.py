"""Running one processing step: claim it, do its work in a staging directory, mark it done."""

from __future__ import annotations

import errno
import shutil
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.media import av1, hooks, storage, transcode
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import ProbeResult
from apps.media.services._common import State, StepState, _enqueue_steps, _step_finish
from apps.media.services.notify import _notify_now
from apps.media.services.recipe import (
    SoundNotReadyError,
    _after_step,
    asset_recipe_changed,
    awaited_step,
    recipe_key,
)
from apps.media.services.step_work import do_step
from apps.media.services.validation import asset_fail

# A step that found the disk full is retried after min(300, 2 ** this) seconds.
OUT_OF_ROOM_WAIT = 8


class OutOfRoomError(OSError):
    pass


def _out_of_room(exc: BaseException) -> bool:
    """The disk (not the upload) made the step fail: ENOSPC/EDQUOT from Python or from
    ffmpeg (its log says so), or the free space is below MEDIA_MIN_FREE_BYTES now."""
    if isinstance(exc, OutOfRoomError):
        return True
    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = f"{exc} {getattr(exc, 'log_tail', '')}"
    return "No space left on device" in text or "Disk quota exceeded" in text \
        or not storage.has_room_for(0)


def _claim(step: ProcessingStep, task_id: str) -> bool:
    now = timezone.now()
    stale = now - timedelta(seconds=settings.MEDIA_STEP_STALL_SECONDS)
    return bool(
        ProcessingStep.objects.filter(pk=step.pk)
        .filter(
            Q(state__in=[StepState.PENDING, StepState.FAILED])
            | Q(state=StepState.RUNNING, claimed_by=task_id)
            | Q(state=StepState.RUNNING, heartbeat_at__lt=stale)
        )
        .update(state=StepState.RUNNING, claimed_by=task_id, attempts=F("attempts") + 1,
                started_at=now, heartbeat_at=now, finished_at=None, updated_at=now)
    )


def _wait_for(step: ProcessingStep, task_id: str, awaited: str) -> str:
    """Back to pending, no attempt used: the awaited step sends this one when it commits
    (`recipe._sent_after`). It is checked again after the reset, so a step that finished
    in between is not missed (then this one is sent again here; a second message finds
    it claimed or done)."""
    ProcessingStep.objects.filter(pk=step.pk, claimed_by=task_id).update(
        state=StepState.PENDING, claimed_by="", attempts=F("attempts") - 1,
        log_tail=f"waiting for the {awaited} step", updated_at=timezone.now())
    if awaited_step(step.asset_id, step.name,
                    ProbeResult.from_json(step.asset.probe)) is None:
        _enqueue_steps(step.asset_id, [step.name])
    return f"waiting for {awaited}"


class StepError(Exception):
    def __init__(self, message: str, *, attempts: int, final: bool) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.final = final


def asset_step_run(*, asset_id: int, name: str, task_id: str) -> str:
    """Runs one step if it still needs running. Raises StepError when it failed (the task
    retries with backoff unless `final`, in which case the asset has failed)."""
    step = ProcessingStep.objects.filter(asset_id=asset_id, name=name).select_related(
        "asset"
    ).first()
    if step is None or step.state == StepState.DONE:
        return "nothing to do"
    # the AV1 step is made for a post already out (ready), the others while processing
    if step.asset.state != State.PROCESSING and not (
            name == av1.STEP and step.asset.state == State.READY):
        return f"skipped ({step.asset.state})"
    if not _claim(step, task_id):
        return "claimed elsewhere"
    probe = ProbeResult.from_json(step.asset.probe)
    awaited = awaited_step(asset_id, name, probe)
    if awaited is not None:
        return _wait_for(step, task_id, awaited)

    def heartbeat() -> None:
        ProcessingStep.objects.filter(pk=step.pk, claimed_by=task_id).update(
            heartbeat_at=timezone.now()
        )

    staged = storage.staging_dir(asset_id, name)
    try:
        if not storage.has_room_for(0):
            raise OutOfRoomError("the media disk is full")
        output, log = do_step(asset_id, name, probe, staged, heartbeat)
    except SoundNotReadyError as exc:
        # waiting for another upload is no failure: no attempt is used up
        ProcessingStep.objects.filter(pk=step.pk, claimed_by=task_id).update(
            state=StepState.PENDING, attempts=F("attempts") - 1, log_tail=str(exc),
            updated_at=timezone.now())
        raise StepError(f"{name}: {exc}", attempts=3, final=False) from exc
    except Exception as exc:
        if _out_of_room(exc):
            # a full disk is no fault of the upload's: no attempt is used up, nothing
            # staged stays, and the step waits (minutes apart) until there is room again
            shutil.rmtree(staged, ignore_errors=True)
            ProcessingStep.objects.filter(pk=step.pk, claimed_by=task_id).update(
                state=StepState.PENDING, attempts=F("attempts") - 1,
                log_tail=f"waiting for disk space: {exc}"[-transcode.LOG_TAIL_CHARS:],
                updated_at=timezone.now())
            raise StepError(f"{name}: waiting for disk space ({exc})",
                            attempts=OUT_OF_ROOM_WAIT, final=False) from exc
        log = getattr(exc, "log_tail", "") or repr(exc)
        shutil.rmtree(staged, ignore_errors=True)
        step.refresh_from_db(fields=["attempts"])
        final = step.attempts >= settings.MEDIA_STEP_MAX_ATTEMPTS
        ProcessingStep.objects.filter(pk=step.pk, claimed_by=task_id).update(
            state=StepState.FAILED, log_tail=f"{exc}\n{log}"[-transcode.LOG_TAIL_CHARS:],
            finished_at=timezone.now(), updated_at=timezone.now(),
        )
        if final:
            asset_fail(asset_id=asset_id, reason=f"Processing failed at step {name}.")
        _notify_now(asset_id)
        raise StepError(f"{name}: {exc}", attempts=step.attempts, final=final) from exc
    finally:
        shutil.rmtree(staged, ignore_errors=True)
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().get(pk=asset_id)
        if not _step_finish(step.pk, task_id, output=output, log=log):
            return "taken over"
        _after_step(asset, name, output)
    if "recipe" in output and output["recipe"] != recipe_key(
            name, hooks.asset_recipe(asset_id=asset_id)):
        asset_recipe_changed(asset_id=asset_id)  # changed while we rendered: again
    return "done"
