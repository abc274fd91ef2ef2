"""Where an asset's files live (local storage under MEDIA_ROOT) and which of them may be
served. The pipeline works on local paths; every output is written into a staging
directory first and renamed into place, so readers never see half a file."""

from __future__ import annotations

import os
import re
import shutil
import time
import uuid
from pathlib import Path

from django.conf import settings

SOURCE_NAME = "source"
# outputs a player or app may fetch; the source and the moderation frames are never served
# (a re-render with a chosen sound or cover carries an 8-hex tag in its names: a cache
# may keep the untagged ones as immutable)
SERVABLE = re.compile(
    r"^(hls/master\.m3u8"
    r"|hls/\d{2,4}/(index\.m3u8|init(_[0-9a-f]{8})?\.mp4|seg_([0-9a-f]{8}_)?\d{4,6}\.m4s)"
    r"|video(-[0-9a-f]{8})?\.mp4|poster(-[0-9a-f]{8})?\.jpg|preview\.webp"
    r"|storyboard\.(jpg|json|vtt)|audio\.m4a)$"
)


def assets_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "assets"


def asset_dir(asset_id: int) -> Path:
    return assets_root() / str(asset_id)


def source_path(asset_id: int) -> Path:
    return asset_dir(asset_id) / SOURCE_NAME


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
    return path if path.is_file() else None


def servable_path(asset_id: int, name: str) -> Path | None:
    """The file for a public name of an asset, or None (unknown, private or missing)."""
    if not SERVABLE.match(name):
        return None
    path = asset_dir(asset_id) / name
    return path if path.is_file() else None


def remove_asset_files(asset_id: int) -> None:
    shutil.rmtree(asset_dir(asset_id), ignore_errors=True)


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
