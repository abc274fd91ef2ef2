"""Where an asset's files live and which of them may be served.

The pipeline works on local paths (ffmpeg needs files): every output is written into a
staging directory and then *published*: with local storage, renamed into place under
MEDIA_ROOT, so readers never see half a file; with S3 storage (the default storage is
django-storages' S3Storage), uploaded to the bucket under the same names
(`assets/<id>/...`) with its content type and cache lifetime, the playlist of a
rendition last, and nothing of it is kept locally (but the moderation inputs, which
moderation reads from MEDIA_ROOT)."""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings

SOURCE_NAME = "source"
# outputs a player or app may fetch; the source and the moderation frames are never served
# (a re-render with a chosen sound or cover carries an 8-hex tag in its names: a cache
# may keep the untagged ones as immutable)
SERVABLE = re.compile(
    r"^(hls/master\.m3u8"
    r"|hls/(av1-)?\d{2,4}/(index\.m3u8|init(_[0-9a-f]{8})?\.mp4|seg_([0-9a-f]{8}_)?\d{4,6}\.m4s)"
    r"|video(-[0-9a-f]{8})?\.mp4|poster(-[0-9a-f]{8})?\.jpg|first_frame\.jpg|preview\.webp"
    r"|storyboard\.(jpg|json|vtt)|audio\.m4a"
    r"|hls/subs/[a-z]{2,3}(-[A-Za-z0-9]{2,8})?-\d{1,6}\.(vtt|m3u8))$"
)


def assets_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "assets"


def asset_dir(asset_id: int) -> Path:
    return assets_root() / str(asset_id)


def source_path(asset_id: int) -> Path:
    return asset_dir(asset_id) / SOURCE_NAME


def free_bytes() -> int:
    """Free space on the file system that holds MEDIA_ROOT (its nearest existing parent)."""
    path = Path(settings.MEDIA_ROOT)
    while not path.exists() and path != path.parent:
        path = path.parent
    return shutil.disk_usage(path).free


def has_room_for(nbytes: int) -> bool:
    """Whether `nbytes` more still leave MEDIA_MIN_FREE_BYTES free for processing."""
    return free_bytes() - nbytes >= settings.MEDIA_MIN_FREE_BYTES


def staging_dir(asset_id: int, step: str) -> Path:
    path = asset_dir(asset_id) / ".work" / f"{step}-{uuid.uuid4().hex[:12]}"
    path.mkdir(parents=True)
    return path


def place_dir(staged: Path, final: Path) -> None:
    """Swap a finished directory into place (the old one, if any, is removed after)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    old = None
    if final.exists():
        old = final.with_name(f".old-{final.name}-{uuid.uuid4().hex[:8]}")
        os.replace(final, old)
    os.replace(staged, final)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def place_file(staged: Path, final: Path) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    os.replace(staged, final)


def write_atomically(final: Path, text: str) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    temp = final.with_name(f".{final.name}.{uuid.uuid4().hex[:8]}")
    temp.write_text(text)
    os.replace(temp, final)


# --- Publishing outputs to the default storage ----------------------------------------------

# the outputs moderation reads from local paths (apps.moderation.detection) are also kept
# under MEDIA_ROOT when the outputs go to S3
KEEP_LOCAL = ("moderation", "audio.m4a")
PLAYLIST_MAX_AGE = 5
IMMUTABLE = "public, max-age=31536000, immutable"


def _remote() -> Any | None:
    """The default storage when it is S3 (the outputs go there), else None."""
    from apps.media import s3

    return s3.s3_storage()


def outputs_are_remote() -> bool:
    return _remote() is not None


def drop_local_scratch(asset_id: int) -> None:
    """S3: the worker's local copy of the source, once every step is done (a re-render
    downloads it again)."""
    source_path(asset_id).unlink(missing_ok=True)
    shutil.rmtree(asset_dir(asset_id) / ".work", ignore_errors=True)


def output_name(asset_id: int, rel: str) -> str:
    return f"assets/{asset_id}/{rel}"


def _object_params(rel: str) -> dict[str, str]:
    from apps.media.serving import content_type_for

    playlist = rel.endswith(".m3u8")
    return {"ContentType": content_type_for(Path(rel)),
            "CacheControl": f"max-age={PLAYLIST_MAX_AGE}" if playlist else IMMUTABLE}


def _upload(remote: Any, path: Path, asset_id: int, rel: str) -> None:
    client = remote.connection.meta.client
    key = remote._normalize_name(output_name(asset_id, rel))
    with path.open("rb") as handle:
        client.put_object(Bucket=remote.bucket_name, Key=key, Body=handle,
                          **_object_params(rel))


def _remote_names(remote: Any, asset_id: int, rel: str) -> list[str]:
    """Names (relative to the asset) of the objects under `rel/`."""
    client = remote.connection.meta.client
    prefix = remote._normalize_name(output_name(asset_id, rel)) + "/"
    names: list[str] = []
    for page in client.get_paginator("list_objects_v2").paginate(
            Bucket=remote.bucket_name, Prefix=prefix):
        names += [f"{rel}/{item['Key'][len(prefix):]}" for item in page.get("Contents", [])]
    return names


def publish_dir(staged: Path, asset_id: int, rel: str) -> None:
    """A finished output directory (a rendition, the moderation frames) goes live."""
    remote = _remote()
    if remote is None or rel in KEEP_LOCAL:
        place_dir(staged, asset_dir(asset_id) / rel)
        if remote is None:
            return
        staged = asset_dir(asset_id) / rel
    files = sorted(p for p in staged.rglob("*") if p.is_file())
    # playlists last: a player that reads one finds every file it names
    files.sort(key=lambda p: p.suffix == ".m3u8")
    new = set()
    for path in files:
        name = f"{rel}/{path.relative_to(staged).as_posix()}"
        _upload(remote, path, asset_id, name)
        new.add(name)
    for name in set(_remote_names(remote, asset_id, rel)) - new:  # an earlier render's
        remote.delete(output_name(asset_id, name))
    if rel not in KEEP_LOCAL:
        shutil.rmtree(staged, ignore_errors=True)


def publish_file(staged: Path, asset_id: int, rel: str) -> None:
    remote = _remote()
    if remote is None or rel in KEEP_LOCAL:
        place_file(staged, asset_dir(asset_id) / rel)
        if remote is None:
            return
        staged = asset_dir(asset_id) / rel
    _upload(remote, staged, asset_id, rel)
    if rel not in KEEP_LOCAL:
        staged.unlink(missing_ok=True)


def publish_text(asset_id: int, rel: str, text: str) -> None:
    """A small generated file (the master playlist), replaced atomically."""
    remote = _remote()
    if remote is None:
        write_atomically(asset_dir(asset_id) / rel, text)
        return
    client = remote.connection.meta.client
    client.put_object(Bucket=remote.bucket_name,
                      Key=remote._normalize_name(output_name(asset_id, rel)),
                      Body=text.encode(), **_object_params(rel))


def remove_output(asset_id: int, rel: str) -> None:
    """An output an earlier render made that nothing names any more."""
    (asset_dir(asset_id) / rel).unlink(missing_ok=True)
    remote = _remote()
    if remote is not None:
        remote.delete(output_name(asset_id, rel))


def read_output(asset_id: int, rel: str) -> bytes | None:
    remote = _remote()
    if remote is None:
        path = asset_dir(asset_id) / rel
        return path.read_bytes() if path.is_file() else None
    try:
        with remote.open(output_name(asset_id, rel), "rb") as handle:
            data: bytes = handle.read()
            return data
    except FileNotFoundError:
        return None
    except Exception as exc:  # botocore's 404 on open
        if getattr(exc, "response", {}).get("Error", {}).get("Code") in ("404", "NoSuchKey"):
            return None
        raise


def presigned_output_url(asset_id: int, rel: str, *, expires_in: int) -> str | None:
    """With S3: a short-lived GET URL of an output (the bucket serves ranges, ETags,
    types). None with local storage."""
    remote = _remote()
    if remote is None:
        return None
    client = remote.connection.meta.client
    return str(client.generate_presigned_url(
        "get_object", ExpiresIn=expires_in,
        Params={"Bucket": remote.bucket_name,
                "Key": remote._normalize_name(output_name(asset_id, rel))}))


def fetch_stored(name: str, dest: Path) -> Path | None:
    """A file of the default storage (e.g. a library sound) as a local path: the file
    itself on local storage, else downloaded to `dest`. None when it does not exist."""
    from django.core.files.storage import default_storage

    if not name or not default_storage.exists(name):
        return None
    try:
        return Path(default_storage.path(name))
    except NotImplementedError:  # a remote storage: copy it here
        dest.parent.mkdir(parents=True, exist_ok=True)
        with default_storage.open(name, "rb") as remote, dest.open("wb") as local:
            shutil.copyfileobj(remote, local, 1024 * 1024)
        return dest


def fetch_output(asset_id: int, name: str, dest: Path) -> Path | None:
    """One of an asset's outputs (e.g. its extracted audio) as a local path."""
    path = asset_dir(asset_id) / name
    if path.is_file():
        return path
    if _remote() is None:
        return None
    return fetch_stored(output_name(asset_id, name), dest)


def servable_path(asset_id: int, name: str) -> Path | None:
    """The file for a public name of an asset, or None (unknown, private or missing)."""
    if not SERVABLE.match(name):
        return None
    path = asset_dir(asset_id) / name
    return path if path.is_file() else None


def remove_asset_files(asset_id: int) -> None:
    shutil.rmtree(asset_dir(asset_id), ignore_errors=True)
    remote = _remote()
    if remote is not None:
        client = remote.connection.meta.client
        prefix = remote._normalize_name(f"assets/{asset_id}") + "/"
        for page in client.get_paginator("list_objects_v2").paginate(
                Bucket=remote.bucket_name, Prefix=prefix):
            keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if keys:
                client.delete_objects(Bucket=remote.bucket_name, Delete={"Objects": keys})


def remove_stale_staging(asset_id: int, step: str, *, older_than_seconds: float) -> int:
    """Staging directories a dead worker left for `step` (a live claimer's are newer)."""
    work = asset_dir(asset_id) / ".work"
    if not work.is_dir():
        return 0
    cutoff = time.time() - older_than_seconds
    removed = 0
    for entry in work.glob(f"{step}-*"):
        if entry.stat().st_mtime < cutoff:
            shutil.rmtree(entry, ignore_errors=True)
            removed += 1
    return removed
