"""Clips made on the spot with ffmpeg's lavfi sources (tiny, to keep CPU small) and a
tus client over the Django test client."""

from __future__ import annotations

import atexit
import hashlib
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.media.transcode import ffmpeg_exe

TUS = {"HTTP_TUS_RESUMABLE": "1.0.0"}
WAIT_SECONDS = 90
_CLIP_CACHE = Path(tempfile.mkdtemp(prefix="swipeme-test-clips-"))
atexit.register(shutil.rmtree, _CLIP_CACHE, True)


def make_clip(out: Path, *, size: str = "360x640", seconds: float = 2.5, audio: bool = True,
              extra_input: list[str] | None = None, extra_output: list[str] | None = None,
              video_source: str = "testsrc2", rate: int = 30) -> Path:
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"{video_source}=size={size}:rate={rate}:duration={seconds}"]
    if audio:
        args += ["-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}"]
    args += [*(extra_input or []), "-c:v", "libx264", "-preset", "ultrafast",
             "-pix_fmt", "yuv420p"]
    if audio:
        args += ["-c:a", "aac", "-shortest"]
    # ffmpeg's lavfi output is byte-for-byte the same for the same arguments: each distinct
    # clip is encoded once a run and copied (the browser catalogues ask for the same ones).
    args += [*(extra_output or [])]
    key = hashlib.sha256("\0".join([*args[1:], out.suffix]).encode()).hexdigest()[:24]
    cached = _CLIP_CACHE / f"{key}{out.suffix}"
    if not cached.exists():
        _CLIP_CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_name(f"partial-{os.getpid()}-{cached.name}")
        subprocess.run([*args, str(partial)], check=True)
        partial.replace(cached)
    shutil.copyfile(cached, out)
    return out


@pytest.fixture(scope="session")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The good clips every test shares (made once a session)."""
    base = tmp_path_factory.mktemp("clips")
    return {
        "vertical": make_clip(base / "vertical.mp4"),
        "silent": make_clip(base / "silent.mp4", audio=False, size="240x426", seconds=1.5),
    }


def open_upload(client: APIClient, size: int, content_type: str = "video/mp4") -> dict[str, Any]:
    response = client.post("/api/v1/media/uploads", {"size": size, "content_type": content_type},
                           format="json")
    assert response.status_code == 201, response.content
    body: dict[str, Any] = response.json()
    return body


def raw_patch(client: APIClient, url: str, data: bytes, content_type: str, **headers: str) -> Any:
    untyped: Any = client  # the stubs want str bodies and bool flags
    return untyped.generic("PATCH", url, data, content_type=content_type, **headers)


def tus_patch(client: APIClient, url: str, data: bytes, offset: int, **headers: str) -> Any:
    untyped: Any = client
    return untyped.generic(
        "PATCH", url, data, content_type="application/offset+octet-stream",
        **{**TUS, "HTTP_UPLOAD_OFFSET": str(offset), **headers},
    )


def tus_head(client: APIClient, url: str) -> Any:
    untyped: Any = client
    return untyped.head(url, **TUS)


def upload_file(client: APIClient, path: Path, chunk: int = 64 * 1024) -> str:
    data = path.read_bytes()
    body = open_upload(client, len(data))
    url = body["upload_url"]
    offset = 0
    while offset < len(data):
        response = tus_patch(client, url, data[offset:offset + chunk], offset)
        assert response.status_code == 204, response.content
        offset = int(response["Upload-Offset"])
    return str(body["id"])


def wait_for(predicate: Callable[[], bool], what: str, seconds: float = WAIT_SECONDS) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}; see var/log/*-worker.log")
