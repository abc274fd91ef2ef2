"""Uploads straight to the bucket: an S3 multipart upload, its part URLs and completion."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.core.errors import ApplicationError, ConflictError, NotFoundError
from apps.media import s3
from apps.media.leases import upload_lease
from apps.media.models import MediaAsset
from apps.media.services._common import State
from apps.media.services.uploads import (
    _upload_complete,
    _upload_deadline,
    _upload_gone,
)


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
    with upload_lease(asset_id, busy="Another request is completing this upload."):
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
    asset.refresh_from_db()
    return asset
