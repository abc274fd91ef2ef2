"""Real media for detection tests: short lavfi clips and melodies made with ffmpeg,
ffmpeg-transformed copies (re-encoded, resized, cropped, louder/quieter), and uploads
arranged with the moderation frames and audio that the media pipeline's own functions
extract from them."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from django.utils import timezone

from apps.media import derived, storage
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import probe_file
from apps.media.transcode import ffmpeg_exe

# Two melodies with different notes and rhythms (chroma differs, so fingerprints do).
MELODY_A = ("0.5*sin(2*PI*(220+110*floor(mod(t*3,4)))*t)"
            "+0.3*sin(2*PI*(330+55*floor(mod(t*2,5)))*t)")
MELODY_B = ("0.5*sin(2*PI*(523-80*floor(mod(t*5,3)))*t)"
            "+0.2*sin(2*PI*(196+30*floor(mod(t*1.5,6)))*t)")


@pytest.fixture(autouse=True)
def _default_rules(request: pytest.FixtureRequest) -> None:
    """The rule rows a migration seeds; a transactional test elsewhere flushes them."""
    marker = request.node.get_closest_marker("django_db")
    if marker is not None:
        request.getfixturevalue("transactional_db" if marker.kwargs.get("transaction")
                                else "db")
        from apps.moderation.detection.services import policy_rules_seed

        policy_rules_seed()


def ffmpeg(*args: str) -> None:
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True)


def drawn_face(out: Path) -> Path:
    """A drawn face (skin oval, hair, eyes, brows, nose, mouth) on a plain background."""
    img = np.full((640, 360, 3), (200, 220, 235), np.uint8)
    cx, cy = 180, 300
    cv2.ellipse(img, (cx, cy), (80, 105), 0, 0, 360, (150, 185, 225), -1)
    cv2.ellipse(img, (cx, cy - 100), (85, 45), 0, 180, 360, (40, 50, 70), -1)
    for dx in (-32, 32):
        cv2.ellipse(img, (cx + dx, cy - 20), (16, 9), 0, 0, 360, (255, 255, 255), -1)
        cv2.circle(img, (cx + dx, cy - 20), 7, (60, 40, 30), -1)
        cv2.line(img, (cx + dx - 18, cy - 45), (cx + dx + 18, cy - 48), (40, 40, 60), 5)
    cv2.line(img, (cx, cy - 10), (cx - 8, cy + 25), (120, 150, 190), 4)
    cv2.ellipse(img, (cx, cy + 50), (30, 12), 0, 0, 180, (80, 80, 180), -1)
    cv2.imwrite(str(out), cv2.GaussianBlur(img, (5, 5), 1.5))
    return out


def still_clip(still: Path, out: Path, *, seconds: float = 2) -> Path:
    """A `seconds` clip of one still image with a silent track (what an upload of a drawn
    frame looks like to the scan)."""
    ffmpeg("-loop", "1", "-i", str(still), "-f", "lavfi", "-i", "anullsrc=r=44100:cl=mono",
           "-t", f"{seconds:g}", "-r", "24", "-c:v", "libx264", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out))
    return out


def make_clip(out: Path, *, video: str = "testsrc2", melody: str = MELODY_A,
              seconds: float = 6) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"{video}=size=360x640:rate=24",
           "-f", "lavfi", "-i", f"aevalsrc='{melody}':s=44100:d={seconds}",
           "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-shortest", str(out))
    return out


def make_melody(out: Path, melody: str = MELODY_A, seconds: float = 8) -> Path:
    ffmpeg("-f", "lavfi", "-i", f"aevalsrc='{melody}':s=44100:d={seconds}", "-c:a", "aac",
           str(out))
    return out


@pytest.fixture(scope="session")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("detection")
    original = make_clip(base / "original.mp4")
    altered = base / "altered.mp4"
    # re-encoded at low quality, a centred 5% crop, resized to 3/4, 60% volume, MP3 audio
    ffmpeg("-i", str(original), "-vf",
           "crop=iw*0.95:ih*0.95:iw*0.025:ih*0.025,scale=270:480", "-af", "volume=0.6",
           "-c:v", "libx264", "-crf", "35", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "libmp3lame", "-b:a", "64k", str(altered))
    other = make_clip(base / "other.mp4", video="mandelbrot", melody=MELODY_B)
    return {
        "original": original, "altered": altered, "other": other,
        "song": make_melody(base / "song.m4a"),
        "other_song": make_melody(base / "other_song.m4a", MELODY_B),
    }


def arrange_upload(owner: Any, clip: Path) -> MediaAsset:
    """A playable upload whose frames and audio steps are done, with the files the
    pipeline's own step functions make (no checks run yet)."""
    asset = MediaAsset.objects.create(owner=owner, state=MediaAsset.State.READY,
                                      playable_at=timezone.now(), duration_ms=6000,
                                      width=360, height=640)
    base = storage.asset_dir(asset.pk)
    (base / "moderation").mkdir(parents=True, exist_ok=True)
    probe = probe_file(clip)
    count, _ = derived.moderation_frames(clip, probe, base / "moderation")
    derived.extract_audio(clip, base / "audio.m4a")
    asset.outputs = {"moderation_frames": {"directory": "moderation", "count": count},
                     "audio": "audio.m4a"}
    asset.save(update_fields=["outputs"])
    now = timezone.now()
    for name in ("frames", "audio"):
        ProcessingStep.objects.create(asset=asset, name=name, state=ProcessingStep.State.DONE,
                                      attempts=1, started_at=now, finished_at=now)
    return asset
