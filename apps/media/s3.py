"""S3 multipart uploads straight to the bucket, used when the default storage is
django-storages' S3Storage (settings: SWIPEME_S3_BUCKET, SWIPEME_S3_ENDPOINT_URL). The
client PUTs each part to a presigned URL; we only create, list, complete and abort the
multipart upload. The source object is `assets/<id>/source` in the default storage, the
same name the local storage uses, and processing downloads it to a local file."""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import storages

MIB = 1024 * 1024
DEFAULT_PART_SIZE = 8 * MIB
MIN_PART_SIZE = 5 * MIB  # S3's minimum for every part but the last
MAX_PARTS = 10_000
PRESIGN_BATCH = 100  # part URLs handed out per request
COPY_CHUNK = 1024 * 1024

logger = logging.getLogger(__name__)


def s3_storage() -> Any | None:
    """The default storage when it speaks S3, else None (local storage: tus)."""
    from storages.backends.s3 import S3Storage

    storage = storages["default"]
    return storage if isinstance(storage, S3Storage) else None


def enabled() -> bool:
    return s3_storage() is not None


def source_name(asset_id: int) -> str:
    return f"assets/{asset_id}/source"


def _target() -> tuple[Any, Any]:
    storage = s3_storage()
    if storage is None:
        raise RuntimeError("the default storage is not S3")
    return storage, storage.connection.meta.client


def _key(storage: Any, asset_id: int) -> str:
    return str(storage._normalize_name(source_name(asset_id)))


def part_size_for(length: int) -> int:
    """8 MiB parts (MEDIA_S3_PART_SIZE), grown when the file would need over 10,000."""
    size = max(int(getattr(settings, "MEDIA_S3_PART_SIZE", DEFAULT_PART_SIZE)), MIN_PART_SIZE)
    while -(-length // size) > MAX_PARTS:
        size *= 2
    return size


def part_count(length: int, part_size: int) -> int:
    return max(1, -(-length // part_size))


def create_upload(asset_id: int, content_type: str) -> str:
    storage, client = _target()
    answer = client.create_multipart_upload(
        Bucket=storage.bucket_name, Key=_key(storage, asset_id), ContentType=content_type,
    )
    return str(answer["UploadId"])


def presign_parts(
    asset_id: int, upload_id: str, part_numbers: list[int], *, expires_in: int
) -> list[dict[str, Any]]:
    storage, client = _target()
    key = _key(storage, asset_id)
    return [
        {
            "part_number": number,
            "url": client.generate_presigned_url(
                "upload_part",
                Params={"Bucket": storage.bucket_name, "Key": key, "UploadId": upload_id,
                        "PartNumber": number},
                ExpiresIn=expires_in, HttpMethod="PUT",
            ),
        }
        for number in part_numbers
    ]


def list_parts(asset_id: int, upload_id: str) -> list[dict[str, Any]]:
    """The parts S3 already has: part_number, etag (without quotes) and size."""
    storage, client = _target()
    parts: list[dict[str, Any]] = []
    marker = 0
    while True:
        answer = client.list_parts(
            Bucket=storage.bucket_name, Key=_key(storage, asset_id), UploadId=upload_id,
            PartNumberMarker=marker,
        )
        for part in answer.get("Parts", []):
            parts.append({"part_number": int(part["PartNumber"]),
                          "etag": str(part["ETag"]).strip('"'), "size": int(part["Size"])})
        if not answer.get("IsTruncated"):
            return parts
        marker = int(answer["NextPartNumberMarker"])


def complete_upload(asset_id: int, upload_id: str, parts: list[dict[str, Any]]) -> None:
    storage, client = _target()
    client.complete_multipart_upload(
        Bucket=storage.bucket_name, Key=_key(storage, asset_id), UploadId=upload_id,
        MultipartUpload={"Parts": [{"PartNumber": p["part_number"], "ETag": f'"{p["etag"]}"'}
                                   for p in parts]},
    )


def abort_upload(asset_id: int, upload_id: str) -> None:
    """Best effort (an expired or already completed upload is simply gone)."""
    storage, client = _target()
    try:
        client.abort_multipart_upload(
            Bucket=storage.bucket_name, Key=_key(storage, asset_id), UploadId=upload_id,
        )
    except Exception:  # the bucket's lifecycle rule is the backstop
        logger.warning("media: aborting an S3 multipart upload failed", exc_info=True)


def is_no_such_upload(exc: Exception) -> bool:
    response = getattr(exc, "response", None) or {}
    return bool(response.get("Error", {}).get("Code") == "NoSuchUpload")


def source_size(asset_id: int) -> int | None:
    storage = s3_storage()
    if storage is None or not storage.exists(source_name(asset_id)):
        return None
    return int(storage.size(source_name(asset_id)))


def download_source(asset_id: int, dest: Path) -> bool:
    """Copies the source from the default storage to `dest` (atomically: a reader never
    sees half a file). False when the storage has no source."""
    storage = s3_storage()
    if storage is None or not storage.exists(source_name(asset_id)):
        return False
    dest.parent.mkdir(parents=True, exist_ok=True)
    temp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex[:8]}")
    try:
        with storage.open(source_name(asset_id), "rb") as remote, temp.open("wb") as local:
            shutil.copyfileobj(remote, local, COPY_CHUNK)
        os.replace(temp, dest)
    finally:
        temp.unlink(missing_ok=True)
    return True


def delete_source(asset_id: int) -> None:
    storage = s3_storage()
    if storage is not None:
        storage.delete(source_name(asset_id))


def replace_source(asset_id: int, path: Path) -> None:
    """Puts a local file in the bucket as the asset's source (the rewritten container
    replaces what was uploaded)."""
    storage, client = _target()
    client.upload_file(str(path), storage.bucket_name, _key(storage, asset_id))
