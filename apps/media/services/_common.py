"""What the media service modules share: states and step names, the source file, queueing
the pipeline's tasks, marking a step done.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.outbox import enqueue_on_commit
from apps.media import s3, storage, transcode
from apps.media.models import MediaAsset, ProcessingStep

State = MediaAsset.State

StepState = ProcessingStep.State

VALIDATE = "validate"

RENDITION_PREFIX = "rendition-"

LADDER_STEP = "ladder"  # every rendition above the lowest, from one decode

EXTRA_STEPS = ("mp4", "poster", "preview", "storyboard", "audio", "frames")

# the steps made from the ladder's outputs: the files the `ladder` step's decode wrote
# beside its renditions (derived.TAP_STEPS) and the MP4 remuxed from a rendition. With a
# `ladder` step they are sent when it (or the rendition they read) finishes, not at
# planning, so they do not decode the source again while it runs.
FROM_LADDER_STEPS = ("poster", "preview", "storyboard", "audio", "frames", "mp4")

IN_FLIGHT = (State.UPLOADED, State.VALIDATING, State.PROCESSING)


def _local_source(asset_id: int) -> Path:
    """The source as a local file for ffmpeg: with S3 storage it is downloaded from the
    default storage first (FileNotFoundError when neither has it)."""
    path = storage.source_path(asset_id)
    if not path.exists() and not s3.download_source(asset_id, path):
        raise FileNotFoundError(str(path))
    return path


def _remove_source(asset_id: int) -> None:
    storage.source_path(asset_id).unlink(missing_ok=True)
    if s3.enabled():
        s3.delete_source(asset_id)


def _enqueue_process(asset_id: int) -> None:
    """Through the outbox (apps.core.outbox): a finished upload is processed even if the
    broker is down when it commits. apps.media.routing picks the queue by the asset's
    priority; `queued_at` is this run's place in line (apps.media.selectors)."""
    from apps.media.tasks import process_asset

    MediaAsset.objects.filter(pk=asset_id).update(queued_at=timezone.now())
    enqueue_on_commit(process_asset, asset_id)


def _enqueue_steps(asset_id: int, names: list[str]) -> None:
    from apps.media.tasks import run_step

    def send() -> None:
        for name in names:
            run_step.delay(asset_id, name)

    transaction.on_commit(send)


def _step_finish(step_id: int, task_id: str, *, output: dict[str, Any], log: str) -> bool:
    return bool(
        ProcessingStep.objects.filter(pk=step_id, claimed_by=task_id).update(
            state=StepState.DONE, output=output, log_tail=log[-transcode.LOG_TAIL_CHARS:],
            finished_at=timezone.now(), updated_at=timezone.now(),
        )
    )
