"""Every write of media: uploads (tus 1.0 core on local storage, or an S3 multipart
upload straight to the bucket when the default storage is S3), validation, the
processing steps, progressive publishing, re-queueing and reprocessing.

Step protocol: a step is *claimed* with a compare-and-set (pending/failed, or running but
claimed by this same Celery task id — a redelivery after a killed worker — or running
with a stale heartbeat); its work goes to a staging directory that is renamed into place;
it is marked done with another compare-and-set. Completing a step locks the asset row, so
the master playlist, progress and the playable/ready transitions are decided one step at
a time. A step can therefore run twice without harm, and never half-publishes."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.core.errors import ApplicationError, ConflictError, NotFoundError
from apps.core.ids import allocate_ids, id_floor_for
from apps.media import hooks, s3, storage, transcode
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import ProbeResult, Rejected, probe_file

logger = logging.getLogger(__name__)

State = MediaAsset.State
StepState = ProcessingStep.State
VALIDATE = "validate"
RENDITION_PREFIX = "rendition-"
LADDER_STEP = "ladder"  # every rendition above the lowest, from one decode
EXTRA_STEPS = ("mp4", "poster", "preview", "storyboard", "audio", "frames")
ACCEPTED_DECLARED_TYPES = ("video/", "application/octet-stream")
IN_FLIGHT = (State.UPLOADED, State.VALIDATING, State.PROCESSING)
UPLOAD_LEASE_SECONDS = 600


class TooManyUploadsError(ApplicationError):
    status_code = 429
    code = "too_many_uploads"


class UploadTooLargeError(ApplicationError):
    status_code = 413
    code = "too_large"


def human_size(size: int) -> str:
    """Bytes as people read them (binary multiples, the way file managers show them)."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if size >= scale:
            value = size / scale
            return f"{value:.0f} {unit}" if value >= 10 or value.is_integer() \
                else f"{value:.1f} {unit}"
    return f"{size} bytes"


def _minutes(span: timedelta) -> str:
    minutes = max(1, round(span.total_seconds() / 60))
    if minutes % 60 == 0:
        hours = minutes // 60
        return "an hour" if hours == 1 else f"{hours} hours"
    return f"{minutes} minutes" if minutes != 1 else "a minute"


def _upload_deadline(created_at: datetime, now: datetime) -> datetime:
    """When an upload in progress counts as abandoned: after MEDIA_UPLOAD_IDLE_TIMEOUT
    without bytes, and at the latest MEDIA_UPLOAD_URL_TTL after it was opened. Every
    sign of life (bytes received, part URLs asked for) moves it on."""
    return min(created_at + settings.MEDIA_UPLOAD_URL_TTL,
               now + settings.MEDIA_UPLOAD_IDLE_TIMEOUT)


# --- Notifications (websocket) ------------------------------------------------------------


def asset_group(asset_id: int) -> str:
    return f"media.asset.{asset_id}"


def asset_status(asset: MediaAsset) -> dict[str, Any]:
    """What the owner sees while waiting (the API's status fields and the websocket's)."""
    upload_progress = (
        round(100 * asset.upload_offset / asset.upload_length) if asset.upload_length else 0
    )
    return {
        "id": str(asset.pk),
        "state": asset.state,
        "reason": asset.state_reason,
        "upload_progress": upload_progress,
        "progress": asset.progress,
        "playable": asset.playable_at is not None,
    }


def _run_hooks(runner: Any, asset_id: int) -> None:
    """Higher apps' hooks run after our commit; their failure must not undo or retry our
    step (content also sweeps for a missed announcement)."""
    try:
        runner(asset_id=asset_id)
    except Exception:
        logger.exception("media: a state hook failed", extra={"asset_id": asset_id})


def _notify_on_commit(asset_id: int) -> None:
    def send() -> None:
        asset = MediaAsset.objects.filter(pk=asset_id).first()
        layer = get_channel_layer()
        if asset is None or layer is None:
            return
        try:
            async_to_sync(layer.group_send)(
                asset_group(asset_id), {"type": "asset.update", "status": asset_status(asset)}
            )
        except Exception:  # a websocket push is best effort; polling still works
            logger.warning("media: websocket push failed", exc_info=True)

    transaction.on_commit(send)


# --- Upload -------------------------------------------------------------------------------


def upload_create(*, owner_id: int, size: int, content_type: str) -> MediaAsset:
    """Opens an upload after the limits are checked; no byte is accepted before this."""
    limit = human_size(settings.MEDIA_UPLOAD_MAX_BYTES)
    if size > settings.MEDIA_UPLOAD_MAX_BYTES:
        raise UploadTooLargeError(
            f"The file is too large ({human_size(size)}; at most {limit}).",
            fields={"size": [f"At most {limit}."]},
        )
    if size < 1:
        raise ApplicationError("The file is empty (0 bytes); choose a video file.",
                               code="empty_file", fields={"size": ["The file is empty."]})
    if not content_type.lower().startswith(ACCEPTED_DECLARED_TYPES):
        raise ApplicationError(
            "Only video files can be uploaded.", code="unsupported_media_type",
            fields={"content_type": ["Must be a video type."]},
        )
    now = timezone.now()
    user_model = get_user_model()
    with transaction.atomic():
        # one upload decision per user at a time: the counts below cannot race
        user_model.objects.select_for_update().filter(pk=owner_id).first()
        mine = MediaAsset.objects.filter(owner_id=owner_id)
        today = mine.filter(id__gte=id_floor_for(now - timedelta(days=1))).count()
        if today >= settings.MEDIA_UPLOAD_MAX_PER_DAY:
            raise TooManyUploadsError("The daily upload limit is reached; try again tomorrow.")
        open_uploads = mine.filter(state=State.UPLOADING, upload_expires_at__gt=now).count()
        if open_uploads >= settings.MEDIA_UPLOAD_MAX_CONCURRENT:
            raise TooManyUploadsError(
                f"You already have {open_uploads} uploads in progress; finish one or "
                "cancel one first (an upload that receives nothing for "
                f"{_minutes(settings.MEDIA_UPLOAD_IDLE_TIMEOUT)} expires on its own)."
            )
        asset = MediaAsset.objects.create(
            owner_id=owner_id,
            declared_content_type=content_type[:100],
            upload_length=size,
            upload_expires_at=_upload_deadline(now, now),
        )
        if s3.enabled():
            # inside the transaction: if S3 refuses, no asset is left counting as open
            asset.s3_part_size = s3.part_size_for(size)
            asset.s3_upload_id = s3.create_upload(asset.pk, asset.declared_content_type)
            asset.save(update_fields=["s3_part_size", "s3_upload_id", "updated_at"])
    return asset


def upload_asset_for_token(*, asset_id: int) -> MediaAsset:
    """The upload a signed tus URL names; 404 once it expired or was cancelled (it never
    completed and never will)."""
    asset = MediaAsset.objects.filter(pk=asset_id).first()
    if asset is None or _upload_gone(asset):
        raise NotFoundError("Upload not found or expired.")
    return asset


def _upload_gone(asset: MediaAsset) -> bool:
    """Expired (even before the sweep marked it), cancelled, or abandoned: an upload that
    never completed and never will."""
    if asset.state == State.UPLOADING:
        return asset.upload_expires_at is not None and asset.upload_expires_at <= timezone.now()
    return asset.uploaded_at is None


def upload_append(
    *, asset_id: int, offset: int, length: int, chunks: Iterable[bytes]
) -> MediaAsset:
    """tus PATCH: appends `length` bytes at `offset`, which must be the current offset.
    The bytes go to the file first (fsync'd), then the offset moves with a compare-and-set;
    an interrupted request leaves the offset where it was, and the client resumes."""
    asset = upload_asset_for_token(asset_id=asset_id)
    if asset.state != State.UPLOADING:
        raise ConflictError("The upload is already complete.", code="upload_complete")
    if offset != asset.upload_offset:
        raise ConflictError(
            f"Upload-Offset {offset} does not match the server's {asset.upload_offset}.",
            code="offset_mismatch",
        )
    if offset + length > asset.upload_length:
        raise UploadTooLargeError("More bytes than the declared Upload-Length.")
    lease = f"media:upload-lease:{asset_id}"
    if not cache.add(lease, "1", timeout=UPLOAD_LEASE_SECONDS):
        raise ConflictError("Another request is writing this upload; retry after HEAD.",
                            code="upload_busy")
    try:
        written = _write_at(asset_id, offset, length, chunks)
        if written != length:
            raise ApplicationError("The request body is shorter than Content-Length.")
        # the lease is held until the offset moved: no other writer can touch these bytes
        now = timezone.now()
        with transaction.atomic():
            moved = MediaAsset.objects.filter(
                pk=asset_id, state=State.UPLOADING, upload_offset=offset
            ).update(upload_offset=offset + written, updated_at=now,
                     upload_expires_at=_upload_deadline(asset.created_at, now))
            if moved != 1:
                raise ConflictError("The upload moved meanwhile; ask for the offset.",
                                    code="offset_mismatch")
            if offset + written == asset.upload_length:
                _upload_complete(asset_id)
            else:
                _notify_on_commit(asset_id)
    finally:
        cache.delete(lease)
    asset.refresh_from_db()
    return asset


UPLOAD_CANCELLED = MediaAsset.CANCELLED_REASON


def upload_terminate(*, asset_id: int, owner_id: int | None = None) -> None:
    """Abandons an upload in progress (tus termination; the owner's DELETE): its bytes go,
    its slot among the uploads in progress is free at once, and a post already waiting on
    it goes back to draft (media's failed hooks). `owner_id` None: the caller holds the
    signed upload URL, which is the credential. Someone else's, finished or expired
    uploads: 404 / 409."""
    mine = MediaAsset.objects.filter(pk=asset_id)
    if owner_id is not None:
        mine = mine.filter(owner_id=owner_id)
    asset = mine.first()
    if asset is None or _upload_gone(asset):
        raise NotFoundError("Upload not found or expired.")
    if asset.state != State.UPLOADING:
        raise ConflictError("The upload is already complete; delete its post instead.",
                            code="upload_complete")
    # the PATCH lease: no chunk is being written while the bytes are removed
    lease = f"media:upload-lease:{asset_id}"
    if not cache.add(lease, "1", timeout=UPLOAD_LEASE_SECONDS):
        raise ConflictError("A chunk is being written; retry in a moment.", code="upload_busy")
    try:
        with transaction.atomic():
            moved = MediaAsset.objects.filter(pk=asset_id, state=State.UPLOADING).update(
                state=State.FAILED, state_reason=UPLOAD_CANCELLED, updated_at=timezone.now())
            if not moved:
                raise ConflictError("The upload is already complete.", code="upload_complete")
            transaction.on_commit(lambda: _run_hooks(hooks.run_asset_failed_hooks, asset_id))
            _notify_on_commit(asset_id)
        _drop_upload_bytes(asset_id, asset.s3_upload_id)
    finally:
        cache.delete(lease)


def _drop_upload_bytes(asset_id: int, s3_upload_id: str) -> None:
    storage.source_path(asset_id).unlink(missing_ok=True)
    if s3_upload_id and s3.enabled():
        s3.abort_upload(asset_id, s3_upload_id)


# --- Upload: S3 multipart -----------------------------------------------------------------


def _s3_upload_for(owner_id: int, asset_id: int, *, open_only: bool) -> MediaAsset:
    """The owner's S3 upload (anyone else's, a tus upload or an expired one: 404)."""
    asset = MediaAsset.objects.filter(pk=asset_id, owner_id=owner_id).exclude(
        s3_upload_id="").first()
    if asset is None or _upload_gone(asset):
        raise NotFoundError("Upload not found or expired.")
    if open_only and asset.state != State.UPLOADING:
        raise ConflictError("The upload is already complete.", code="upload_complete")
    return asset


def s3_part_count(asset: MediaAsset) -> int:
    return s3.part_count(asset.upload_length, asset.s3_part_size)


def s3_upload_part_urls(
    *, owner_id: int, asset_id: int, part_numbers: list[int] | None = None
) -> tuple[MediaAsset, list[dict[str, Any]]]:
    """Presigned PUT URLs for some parts (the first batch when none are named). They
    expire with the upload, at most after MEDIA_UPLOAD_URL_TTL."""
    asset = _s3_upload_for(owner_id, asset_id, open_only=True)
    count = s3_part_count(asset)
    if part_numbers is None:
        part_numbers = list(range(1, min(count, s3.PRESIGN_BATCH) + 1))
    numbers = sorted(set(part_numbers))
    if not numbers or len(numbers) > s3.PRESIGN_BATCH:
        raise ApplicationError(f"Ask for 1 to {s3.PRESIGN_BATCH} parts at a time.",
                               fields={"part_numbers": ["Wrong count."]})
    if numbers[0] < 1 or numbers[-1] > count:
        raise ApplicationError(f"Part numbers run from 1 to {count}.",
                               fields={"part_numbers": ["Out of range."]})
    now = timezone.now()
    # asking for part URLs is a sign of life; the URLs themselves may outlive the idle
    # window (parts go straight to the bucket), up to the upload's hard limit
    _touch_upload(asset, now)
    hard_limit = asset.created_at + settings.MEDIA_UPLOAD_URL_TTL
    expires_in = max(1, int((hard_limit - now).total_seconds()))
    return asset, s3.presign_parts(asset.pk, asset.s3_upload_id, numbers,
                                   expires_in=expires_in)


def _touch_upload(asset: MediaAsset, now: datetime, **fields: Any) -> None:
    deadline = _upload_deadline(asset.created_at, now)
    MediaAsset.objects.filter(pk=asset.pk, state=State.UPLOADING).update(
        upload_expires_at=deadline, updated_at=now, **fields)
    asset.upload_expires_at = deadline
    for name, value in fields.items():
        setattr(asset, name, value)


def s3_upload_parts(*, owner_id: int, asset_id: int) -> tuple[MediaAsset, list[dict[str, Any]]]:
    """Resume: the parts S3 already has (none once the upload is complete). The asset's
    upload_offset follows the bytes received, for upload_progress."""
    asset = _s3_upload_for(owner_id, asset_id, open_only=False)
    if asset.state != State.UPLOADING:
        return asset, []
    parts = s3.list_parts(asset.pk, asset.s3_upload_id)
    received = min(sum(p["size"] for p in parts), asset.upload_length)
    if received != asset.upload_offset:
        _touch_upload(asset, timezone.now(), upload_offset=received)
    return asset, parts


def _check_parts(asset: MediaAsset, sent: list[dict[str, Any]],
                 held: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parts to complete with: every part 1..n, the ETags the client saw, each part
    the agreed size (the last one the rest) — so the object has exactly the declared
    length. Presigned PUTs cannot cap a body; this is where the limit holds."""
    count = s3_part_count(asset)
    by_number = {p["part_number"]: p for p in held}
    wanted = sorted(sent, key=lambda p: int(p["part_number"]))
    if [int(p["part_number"]) for p in wanted] != list(range(1, count + 1)):
        raise ApplicationError(f"Send the ETags of parts 1 to {count}.", code="parts_mismatch",
                               fields={"parts": ["Every part, once."]})
    parts = []
    for number, part in enumerate(wanted, start=1):
        have = by_number.get(number)
        if have is None or have["etag"] != str(part["etag"]).strip('"'):
            raise ApplicationError(f"Part {number} is missing or its ETag differs; list "
                                   "the parts and upload it again.", code="parts_mismatch",
                                   fields={"parts": [f"Part {number}."]})
        size = (asset.upload_length - asset.s3_part_size * (count - 1) if number == count
                else asset.s3_part_size)
        if have["size"] != size:
            raise ApplicationError(f"Part {number} has {have['size']} bytes, not {size}.",
                                   code="parts_mismatch", fields={"parts": [f"Part {number}."]})
        parts.append(have)
    return parts


def s3_upload_complete(*, owner_id: int, asset_id: int,
                       parts: list[dict[str, Any]]) -> MediaAsset:
    """complete_multipart_upload after the parts are checked against S3's own list; then
    the same hand-over to processing as a finished tus upload. Retrying after S3 completed
    but before our commit finds the object and finishes."""
    asset = _s3_upload_for(owner_id, asset_id, open_only=True)
    lease = f"media:upload-lease:{asset_id}"
    if not cache.add(lease, "1", timeout=UPLOAD_LEASE_SECONDS):
        raise ConflictError("Another request is completing this upload.", code="upload_busy")
    try:
        try:
            held = s3.list_parts(asset.pk, asset.s3_upload_id)
        except Exception as exc:
            if not s3.is_no_such_upload(exc):
                raise
            if s3.source_size(asset.pk) != asset.upload_length:
                raise ConflictError("The upload is gone; open a new one.",
                                    code="upload_gone") from exc
        else:
            s3.complete_upload(asset.pk, asset.s3_upload_id, _check_parts(asset, parts, held))
        with transaction.atomic():
            MediaAsset.objects.filter(pk=asset.pk, state=State.UPLOADING).update(
                upload_offset=asset.upload_length, updated_at=timezone.now())
            _upload_complete(asset.pk)
    finally:
        cache.delete(lease)
    asset.refresh_from_db()
    return asset


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


def _write_at(asset_id: int, offset: int, length: int, chunks: Iterable[bytes]) -> int:
    """Writes at most `length` bytes at `offset` (dropping anything a failed attempt left
    beyond it), flushed to disk before the offset may move."""
    path = storage.source_path(asset_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    with path.open("r+b" if path.exists() else "w+b") as handle:
        handle.seek(offset)
        handle.truncate(offset)
        for chunk in chunks:
            room = length - written
            if room <= 0:
                break
            piece = chunk[:room]
            handle.write(piece)
            written += len(piece)
        handle.flush()
        os.fsync(handle.fileno())
    return written


def _upload_complete(asset_id: int) -> None:
    done = MediaAsset.objects.filter(pk=asset_id, state=State.UPLOADING).update(
        state=State.UPLOADED, uploaded_at=timezone.now(), updated_at=timezone.now()
    )
    if done:
        _enqueue_process(asset_id)
        _notify_on_commit(asset_id)


def _enqueue_process(asset_id: int) -> None:
    from apps.media.tasks import process_asset

    transaction.on_commit(lambda: process_asset.delay(asset_id))


def _enqueue_steps(asset_id: int, names: list[str]) -> None:
    from apps.media.tasks import run_step

    def send() -> None:
        for name in names:
            run_step.delay(asset_id, name)

    transaction.on_commit(send)


# --- Validation and planning --------------------------------------------------------------


def _step_names(probe: ProbeResult) -> list[str]:
    """The lowest rendition alone first (it makes the asset playable soon), the poster,
    then the rest of the ladder from one decode (`ladder`), then the other outputs."""
    ladder = transcode.plan_ladder(probe)
    extras = [name for name in EXTRA_STEPS if name != "audio" or probe.has_audio]
    rest = [name for name in extras if name not in ("poster", "mp4")]
    if settings.MEDIA_SINGLE_PASS_LADDER:
        # every rung from one decode: the least CPU, but playable only when all are done
        return [LADDER_STEP, "poster", *rest, "mp4"]
    upper = [LADDER_STEP] if len(ladder) > 1 else []
    return [f"{RENDITION_PREFIX}{ladder[0].short_edge}", "poster", *upper, *rest, "mp4"]


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
    names = _step_names(probe)
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().get(pk=asset_id)
        if asset.state != State.VALIDATING:
            return f"skipped ({asset.state})"
        _step_finish(step.pk, task_id, output=probe.as_json(), log="")
        asset.probe = probe.as_json()
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
        _enqueue_steps(asset_id, names)
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
    names = list(
        ProcessingStep.objects.filter(
            asset_id=asset_id, state__in=[StepState.PENDING, StepState.FAILED]
        ).values_list("name", flat=True)
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


def _notify_now(asset_id: int) -> None:
    with transaction.atomic():
        _notify_on_commit(asset_id)


# --- Steps --------------------------------------------------------------------------------


def _step_finish(step_id: int, task_id: str, *, output: dict[str, Any], log: str) -> bool:
    return bool(
        ProcessingStep.objects.filter(pk=step_id, claimed_by=task_id).update(
            state=StepState.DONE, output=output, log_tail=log[-transcode.LOG_TAIL_CHARS:],
            finished_at=timezone.now(), updated_at=timezone.now(),
        )
    )


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
    if step.asset.state != State.PROCESSING:
        return f"skipped ({step.asset.state})"
    if not _claim(step, task_id):
        return "claimed elsewhere"
    probe = ProbeResult.from_json(step.asset.probe)

    def heartbeat() -> None:
        ProcessingStep.objects.filter(pk=step.pk, claimed_by=task_id).update(
            heartbeat_at=timezone.now()
        )

    staged = storage.staging_dir(asset_id, name)
    try:
        output, log = _do_step(asset_id, name, probe, staged, heartbeat)
    except SoundNotReadyError as exc:
        # waiting for another upload is no failure: no attempt is used up
        ProcessingStep.objects.filter(pk=step.pk, claimed_by=task_id).update(
            state=StepState.PENDING, attempts=F("attempts") - 1, log_tail=str(exc),
            updated_at=timezone.now())
        raise StepError(f"{name}: {exc}", attempts=3, final=False) from exc
    except Exception as exc:
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


# --- Recipe: the chosen sound and cover (asked of content through a hook) ------------------


class SoundNotReadyError(Exception):
    """The chosen sound's audio is not available yet (another upload still processing)."""


def _uses_audio_recipe(name: str) -> bool:
    return name.startswith(RENDITION_PREFIX) or name in (LADDER_STEP, "mp4")


def recipe_key(name: str, recipe: hooks.AssetRecipe) -> dict[str, Any] | None:
    """What of the recipe a step's output depends on (kept in the step's output; a step
    whose key no longer matches is rendered again). None: the upload as it is."""
    if _uses_audio_recipe(name):
        if recipe.sound_file:
            sound: str | None = f"file:{recipe.sound_file}"
        elif recipe.sound_asset_id is not None:
            sound = f"asset:{recipe.sound_asset_id}"
        else:
            sound = None
        mode = recipe.sound_mix if recipe.sound_mix in ("keep", "duck", "mute") else "keep"
        if sound is None and mode != "mute":
            return None  # nothing to mix and nothing to mute
        return {"sound": sound, "mix": mode}
    if name == "poster" and recipe.cover_time_ms is not None:
        return {"cover_time_ms": int(recipe.cover_time_ms)}
    return None


def _tag(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]


def _sound_mix(recipe: hooks.AssetRecipe, key: dict[str, Any], work: Path) -> transcode.SoundMix:
    """The chosen sound as a local file for ffmpeg."""
    work.mkdir(parents=True, exist_ok=True)
    path: Path | None = None
    if recipe.sound_file:
        path = storage.fetch_stored(recipe.sound_file, work / "sound")
        if path is None:
            raise FileNotFoundError(f"the sound file {recipe.sound_file!r} is missing")
    elif recipe.sound_asset_id is not None:
        other = MediaAsset.objects.filter(pk=recipe.sound_asset_id).first()
        name = (other.outputs or {}).get("audio") if other is not None else None
        if isinstance(name, str):
            path = storage.fetch_output(recipe.sound_asset_id, name, work / "sound.m4a")
        elif other is not None and other.state in IN_FLIGHT and (
                not other.probe or other.probe.get("has_audio")):
            raise SoundNotReadyError(f"the audio of asset {other.pk} is not extracted yet")
        # else: that upload has no audio (or is gone): the sound is silence
    return transcode.SoundMix(path=path, mode=key["mix"], tag=_tag(key))


def _drop_sound(staged: Path) -> None:
    shutil.rmtree(staged / ".sound", ignore_errors=True)


def asset_recipe_changed(*, asset_id: int) -> list[str]:
    """The recipe (sound, mix, cover) may have changed: the finished steps whose output
    depends on what changed are rendered again. Their old files stay served (the master
    keeps listing the old renditions) until the new ones are placed; new files have new
    names, so no cache serves an old segment under a new playlist. Returns the steps."""
    recipe = hooks.asset_recipe(asset_id=asset_id)
    now = timezone.now()
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().filter(pk=asset_id).first()
        if asset is None or asset.state not in (State.PROCESSING, State.READY):
            return []
        stale = [
            step.name for step in ProcessingStep.objects.filter(asset=asset, state=StepState.DONE)
            if (_uses_audio_recipe(step.name) or step.name == "poster")
            and (step.output or {}).get("recipe") != recipe_key(step.name, recipe)
        ]
        if not stale:
            return []
        ProcessingStep.objects.filter(asset=asset, name__in=stale, state=StepState.DONE).update(
            state=StepState.PENDING, claimed_by="", finished_at=None, updated_at=now)
        if asset.state == State.READY:
            asset.state, asset.ready_at = State.PROCESSING, None
            asset.save(update_fields=["state", "ready_at", "updated_at"])
        _refresh_progress(asset)
        _enqueue_steps(asset_id, stale)
        _notify_on_commit(asset_id)
    return stale


def _do_step(
    asset_id: int, name: str, probe: ProbeResult, staged: Path, heartbeat: Any
) -> tuple[dict[str, Any], str]:
    source = _local_source(asset_id)
    preset = settings.MEDIA_X264_PRESET
    ladder = {r.short_edge: r for r in transcode.plan_ladder(probe)}
    recipe = hooks.asset_recipe(asset_id=asset_id)
    mix: transcode.SoundMix | None = None
    key = recipe_key(name, recipe)
    if key is not None and _uses_audio_recipe(name):
        mix = _sound_mix(recipe, key, staged / ".sound")
    if name.startswith(RENDITION_PREFIX):
        rendition = ladder[int(name.removeprefix(RENDITION_PREFIX))]
        output, log = transcode.transcode_rendition(
            source, probe, rendition, staged, preset=preset, heartbeat=heartbeat, mix=mix
        )
        _drop_sound(staged)
        storage.publish_dir(staged, asset_id, f"hls/{rendition.name}")
        return {**output, "recipe": key}, log
    if name == LADDER_STEP:
        rungs = sorted(ladder.values(), key=lambda r: r.short_edge)
        lowest_apart = ProcessingStep.objects.filter(
            asset_id=asset_id, name__startswith=RENDITION_PREFIX).exists()
        upper = rungs[1:] if lowest_apart else rungs
        outputs, log = transcode.transcode_ladder(
            source, probe, upper, staged, preset=preset, heartbeat=heartbeat, mix=mix
        )
        for rendition in upper:  # each directory is complete: the command has finished
            storage.publish_dir(staged / rendition.name, asset_id, f"hls/{rendition.name}")
        return {"renditions": outputs, "recipe": key}, log
    if name == "mp4":
        rendition = max((r for r in ladder.values() if r.short_edge <= 720),
                        key=lambda r: r.short_edge)
        file = f"video-{mix.tag}.mp4" if mix is not None else "video.mp4"
        log = transcode.mp4_fallback(source, probe, rendition, staged / file,
                                     preset=preset, heartbeat=heartbeat, mix=mix)
        storage.publish_file(staged / file, asset_id, file)
        return {"name": file, "short_edge": rendition.short_edge, "recipe": key,
                "width": rendition.width, "height": rendition.height}, log
    if name == "poster":
        file = f"poster-{_tag(key)}.jpg" if key is not None else "poster.jpg"
        cover = None if recipe.cover_time_ms is None else recipe.cover_time_ms / 1000
        chosen = transcode.poster(source, probe, staged / file, cover_at=cover)
        storage.publish_file(staged / file, asset_id, file)
        return {"name": file, "recipe": key, **chosen}, ""
    if name == "preview":
        log = transcode.preview(source, probe, staged / "preview.webp")
        storage.publish_file(staged / "preview.webp", asset_id, "preview.webp")
        return {"name": "preview.webp"}, log
    if name == "storyboard":
        meta, log = transcode.storyboard(source, probe, staged)
        for file in ("storyboard.jpg", "storyboard.json", "storyboard.vtt"):
            storage.publish_file(staged / file, asset_id, file)
        return meta, log
    if name == "audio":
        log = transcode.extract_audio(source, staged / "audio.m4a")
        storage.publish_file(staged / "audio.m4a", asset_id, "audio.m4a")
        return {"name": "audio.m4a"}, log
    if name == "frames":
        count, log = transcode.moderation_frames(source, probe, staged)
        storage.publish_dir(staged, asset_id, "moderation")
        staged.mkdir()  # the caller removes it
        return {"directory": "moderation", "count": count}, log
    raise ValueError(f"unknown step {name}")


def _refresh_progress(asset: MediaAsset) -> None:
    steps = list(ProcessingStep.objects.filter(asset=asset).values_list("state", flat=True))
    done = sum(1 for state in steps if state == StepState.DONE)
    asset.progress = int(100 * done / len(steps)) if steps else 0
    asset.save(update_fields=["progress", "updated_at"])


def _after_step(asset: MediaAsset, name: str, output: dict[str, Any]) -> None:
    """Under the asset's row lock: the master playlist lists exactly the finished
    renditions; the asset becomes playable with its lowest rendition and ready when every
    step is done."""
    steps = list(ProcessingStep.objects.filter(asset=asset))
    renditions = sorted(
        (s for s in steps if s.name.startswith(RENDITION_PREFIX)),
        key=lambda s: int(s.name.removeprefix(RENDITION_PREFIX)),
    )
    # a rendition being rendered again (a new sound) keeps its finished output and files
    # until the new ones are placed: the master keeps listing it
    done_renditions = [s.output for s in renditions if s.output.get("bandwidth")]
    for step in steps:
        if step.name == LADDER_STEP and step.output.get("renditions"):
            done_renditions += step.output["renditions"]
    outputs = dict(asset.outputs)
    if name.startswith(RENDITION_PREFIX) or name == LADDER_STEP:
        storage.publish_text(asset.pk, "hls/master.m3u8",
                             transcode.master_playlist(done_renditions))
        outputs["hls"] = "hls/master.m3u8"
        outputs["renditions"] = sorted(done_renditions, key=lambda r: r["short_edge"])
    elif name == "storyboard":
        outputs["storyboard"] = {"image": "storyboard.jpg", "json": "storyboard.json",
                                 "vtt": "storyboard.vtt", **output}
    elif name == "frames":
        outputs["moderation_frames"] = output
    else:
        replaced = outputs.get(name)
        outputs[name] = output["name"]
        if isinstance(replaced, str) and replaced != output["name"]:
            # the old poster or MP4 of an earlier recipe
            old_id = asset.pk
            transaction.on_commit(lambda: storage.remove_output(old_id, replaced))
    asset.outputs = outputs
    fields = ["outputs", "updated_at"]
    if renditions:
        lowest_done = renditions[0].state == StepState.DONE
    else:  # single pass: the ladder step carries the lowest rung too
        lowest_done = any(s.name == LADDER_STEP and s.state == StepState.DONE for s in steps)
    if lowest_done and asset.playable_at is None:
        asset.playable_at = timezone.now()
        fields.append("playable_at")
        asset_id = asset.pk
        transaction.on_commit(lambda: _run_hooks(hooks.run_asset_playable_hooks, asset_id))
    if all(s.state == StepState.DONE for s in steps) and asset.state == State.PROCESSING:
        asset.state = State.READY
        asset.ready_at = timezone.now()
        fields += ["state", "ready_at"]
        if storage.outputs_are_remote():
            ready_id = asset.pk
            transaction.on_commit(lambda: storage.drop_local_scratch(ready_id))
    asset.save(update_fields=fields)
    _refresh_progress(asset)
    _notify_on_commit(asset.pk)
    done_id = asset.pk
    transaction.on_commit(lambda: _run_hooks(
        lambda *, asset_id: hooks.run_asset_step_done_hooks(asset_id=asset_id, step=name),
        done_id))


# --- Operations ---------------------------------------------------------------------------


def assets_requeue_stalled() -> dict[str, int]:
    """Beat: re-queues steps whose worker stopped heart-beating, assets stuck before
    planning, and expires abandoned uploads."""
    now = timezone.now()
    stall = timedelta(seconds=settings.MEDIA_STEP_STALL_SECONDS)
    stale_steps = list(
        ProcessingStep.objects.filter(
            asset__state=State.PROCESSING,
        ).filter(
            Q(state=StepState.RUNNING, heartbeat_at__lt=now - stall)
            | Q(state__in=[StepState.PENDING, StepState.FAILED], updated_at__lt=now - stall)
        ).values_list("asset_id", "name")
    )
    for asset_id, name in stale_steps:
        storage.remove_stale_staging(asset_id, name, older_than_seconds=stall.total_seconds())
    with transaction.atomic():
        for asset_id, name in stale_steps:
            _enqueue_steps(asset_id, [name])
    stuck = list(
        MediaAsset.objects.filter(
            state__in=[State.UPLOADED, State.VALIDATING], updated_at__lt=now - stall
        ).values_list("id", flat=True)
    )
    for asset_id in stuck:
        MediaAsset.objects.filter(pk=asset_id, state=State.VALIDATING).update(
            state=State.UPLOADED, updated_at=now
        )
        with transaction.atomic():
            _enqueue_process(asset_id)
    expired = 0
    for asset in MediaAsset.objects.filter(state=State.UPLOADING,
                                           upload_expires_at__lt=now)[:500]:
        if asset.s3_upload_id and s3.enabled() and _s3_upload_moved(asset, now):
            continue  # parts went straight to the bucket meanwhile: not abandoned
        with transaction.atomic():
            moved = MediaAsset.objects.filter(
                pk=asset.pk, state=State.UPLOADING, upload_expires_at__lt=now).update(
                state=State.FAILED, updated_at=now,
                state_reason="The upload was abandoned (no data received for a while) and "
                             "has expired; upload the file again.")
            if moved:
                # a post already made on this upload goes back to draft with this reason
                transaction.on_commit(partial(_run_hooks, hooks.run_asset_failed_hooks,
                                              asset.pk))
                _notify_on_commit(asset.pk)
        if moved:
            expired += 1
            _drop_upload_bytes(asset.pk, asset.s3_upload_id)
    return {"steps": len(stale_steps), "assets": len(stuck), "expired": expired}


def _s3_upload_moved(asset: MediaAsset, now: datetime) -> bool:
    """An S3 upload's bytes bypass us: before expiring it, ask the bucket whether more
    arrived since we last looked (then its deadline moves on)."""
    if asset.created_at + settings.MEDIA_UPLOAD_URL_TTL <= now:
        return False
    try:
        parts = s3.list_parts(asset.pk, asset.s3_upload_id)
    except Exception as exc:
        if s3.is_no_such_upload(exc):
            return False
        logger.warning("media: ListParts failed for an idle upload", exc_info=True)
        return True  # unknown: decide at the next sweep
    received = min(sum(p["size"] for p in parts), asset.upload_length)
    if received == asset.upload_offset:
        return False
    _touch_upload(asset, now, upload_offset=received)
    return True


def asset_reprocess(*, asset_id: int) -> bool:
    """Runs the whole pipeline again from the kept source (staff). Files already served
    stay in place until their replacement is finished."""
    if not storage.source_path(asset_id).exists() and (
        not s3.enabled() or s3.source_size(asset_id) is None
    ):
        return False
    with transaction.atomic():
        moved = MediaAsset.objects.filter(
            pk=asset_id, state__in=[State.READY, State.FAILED, State.PROCESSING,
                                    State.VALIDATING, State.UPLOADED, State.REJECTED]
        ).update(state=State.UPLOADED, state_reason="", progress=0, ready_at=None,
                 updated_at=timezone.now())
        if not moved:
            return False
        # planned afresh by validation (the plan may differ: settings, rules); the files
        # served now stay until their replacements are placed
        ProcessingStep.objects.filter(asset_id=asset_id).delete()
        _enqueue_process(asset_id)
        _notify_on_commit(asset_id)
    return True


def assets_for_reprocess(
    *, states: list[str] | None = None, since: datetime | None = None,
    until: datetime | None = None,
) -> list[int]:
    queryset = MediaAsset.objects.exclude(state=State.UPLOADING)
    if states:
        queryset = queryset.filter(state__in=states)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lt=until)
    return list(queryset.order_by("id").values_list("id", flat=True))


def media_purge_user(*, user_id: int) -> None:
    """Account removal: the rows go with the user (cascade, after content removed its
    posts); the files are deleted once that commit happened."""
    ids = list(MediaAsset.objects.filter(owner_id=user_id).values_list("id", flat=True))

    def remove() -> None:
        for asset_id in ids:
            storage.remove_asset_files(asset_id)
            if s3.enabled():
                s3.delete_source(asset_id)

    transaction.on_commit(remove)
