"""Uploads through tus 1.0 core on local storage: opening, appending, terminating."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from apps.core.errors import (
    ApplicationError,
    ConflictError,
    InsufficientStorageError,
    NotFoundError,
    TooLargeError,
)
from apps.core.ids import id_floor_for
from apps.media import hooks, s3, storage
from apps.media.leases import upload_lease
from apps.media.models import MediaAsset
from apps.media.services._common import State, _enqueue_process
from apps.media.services.notify import _notify_on_commit, _run_hooks

ACCEPTED_DECLARED_TYPES = ("video/", "application/octet-stream")

# A full media disk: uploads are refused until there is room again (the client retries).
OUT_OF_ROOM = ("SwipeMe is out of storage space for uploads right now; nothing was saved. "
               "Try again in a few minutes.")
OUT_OF_ROOM_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class TooManyUploadsError(ApplicationError):
    status_code = 429
    code = "too_many_uploads"


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


def upload_create(
    *, owner_id: int, size: int, content_type: str,
    priority: str = MediaAsset.Priority.USER,
) -> MediaAsset:
    """Opens an upload after the limits are checked; no byte is accepted before this.
    `priority` BULK (the demo catalogue, imports) processes it on the bulk queue."""
    limit = human_size(settings.MEDIA_UPLOAD_MAX_BYTES)
    if size > settings.MEDIA_UPLOAD_MAX_BYTES:
        raise TooLargeError(
            f"The file is too large ({human_size(size)}; at most {limit}).",
            fields={"size": [f"At most {limit}."]},
        )
    if size < 1:
        raise ApplicationError("The file is empty (0 bytes); choose a video file.",
                               code="empty_file", fields={"size": ["The file is empty."]})
    if not s3.enabled() and not storage.has_room_for(size):
        raise InsufficientStorageError(OUT_OF_ROOM)
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
            priority=priority,
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
        raise TooLargeError("More bytes than the declared Upload-Length.")
    if not storage.has_room_for(length):
        raise InsufficientStorageError(OUT_OF_ROOM)
    with upload_lease(asset_id, busy="Another request is writing this upload; retry after HEAD."):
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
    with upload_lease(asset_id, busy="A chunk is being written; retry in a moment."):
        with transaction.atomic():
            moved = MediaAsset.objects.filter(pk=asset_id, state=State.UPLOADING).update(
                state=State.FAILED, state_reason=UPLOAD_CANCELLED, updated_at=timezone.now())
            if not moved:
                raise ConflictError("The upload is already complete.", code="upload_complete")
            transaction.on_commit(lambda: _run_hooks(hooks.run_asset_failed_hooks, asset_id))
            _notify_on_commit(asset_id)
        _drop_upload_bytes(asset_id, asset.s3_upload_id)


def _drop_upload_bytes(asset_id: int, s3_upload_id: str) -> None:
    storage.source_path(asset_id).unlink(missing_ok=True)
    if s3_upload_id and s3.enabled():
        s3.abort_upload(asset_id, s3_upload_id)


def _write_at(asset_id: int, offset: int, length: int, chunks: Iterable[bytes]) -> int:
    """Writes at most `length` bytes at `offset` (dropping anything a failed attempt left
    beyond it), flushed to disk before the offset may move. A full disk (ENOSPC, or a
    quota) is a 507, and what this attempt wrote is cut off again: the file ends where the
    database's offset says (unbuffered writes, so nothing is left to flush after the cut)."""
    path = storage.source_path(asset_id)
    written = 0
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            for chunk in chunks:
                piece = memoryview(chunk)[: length - written]
                while piece:
                    done = os.write(fd, piece)
                    piece = piece[done:]
                    written += done
                if written >= length:
                    break
            os.fsync(fd)
        except OSError as exc:
            if exc.errno in OUT_OF_ROOM_ERRNOS:
                os.ftruncate(fd, offset)
            raise
        finally:
            os.close(fd)
    except OSError as exc:
        if exc.errno not in OUT_OF_ROOM_ERRNOS:
            raise
        if offset == 0:
            path.unlink(missing_ok=True)
        raise InsufficientStorageError(OUT_OF_ROOM) from exc
    return written


def _upload_complete(asset_id: int) -> None:
    done = MediaAsset.objects.filter(pk=asset_id, state=State.UPLOADING).update(
        state=State.UPLOADED, uploaded_at=timezone.now(), updated_at=timezone.now()
    )
    if done:
        _enqueue_process(asset_id)
        _notify_on_commit(asset_id)
