"""Sources for edit documents: tiny clips made with ffmpeg's lavfi sources, arranged as
processed uploads of a user (a READY asset with its source file where media keeps it),
stickers in the library, and decoding helpers that measure what a render produced."""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from django.core.files.base import ContentFile

from apps.media import storage
from apps.media.models import MediaAsset
from apps.media.transcode import ffmpeg_exe
from apps.studio.models import Sticker
from apps.studio.stickers import inspect_sticker
from tests.media.test_sound_mix import _samples as samples_of  # mono float samples

SIZE = "160x284"  # vertical, tiny: the final canvas is the first clip's size (short edge)


def clip_file(tmp: Path, name: str, *, source: str = "testsrc2", seconds: float = 2.0,
              hz: float | None = 440.0, size: str = SIZE, vf: str | None = None,
              af: str | None = None) -> Path:
    """A clip of lavfi `source` (e.g. "color=c=red") with a sine of `hz` (None: silent),
    `vf`/`af` filters applied to its picture and sound."""
    if source.startswith("color="):
        colour = source.split("=", 2)[2]
        video = f"color=c={colour}:size={size}:rate=30:duration={seconds}"
    else:
        video = f"{source}=size={size}:rate=30:duration={seconds}"
    args = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
            "-i", video]
    if hz is not None:
        args += ["-f", "lavfi", "-i", f"sine=frequency={hz:g}:duration={seconds}"]
    args += [*(["-vf", vf] if vf else []), *(["-af", af] if af and hz is not None else []),
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]
    if hz is not None:
        args += ["-c:a", "aac", "-b:a", "128k", "-shortest"]
    out = tmp / f"{name}.mp4"
    subprocess.run([*args, str(out)], check=True)
    return out


def arrange_source(owner: Any, path: Path, *, seconds: float, has_audio: bool = True,
                   size: str = SIZE) -> MediaAsset:
    """A processed upload of `owner` whose source is `path` (as media leaves it)."""
    width, height = (int(v) for v in size.split("x"))
    asset = MediaAsset.objects.create(
        owner=owner, state=MediaAsset.State.READY, duration_ms=int(seconds * 1000),
        width=width, height=height, probe={"has_audio": has_audio}, upload_length=1,
        upload_offset=1)
    dest = storage.source_path(asset.pk)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, dest)
    return asset


@pytest.fixture
def source(user: Any, tmp_path: Path) -> Any:
    """`source(name, **clip_file options)`: a processed upload of `user`."""
    def make(name: str = "clip", *, seconds: float = 2.0, hz: float | None = 440.0,
             src: str = "testsrc2", size: str = SIZE, vf: str | None = None,
             af: str | None = None) -> MediaAsset:
        path = clip_file(tmp_path, name, source=src, seconds=seconds, hz=hz, size=size,
                         vf=vf, af=af)
        return arrange_source(user, path, seconds=seconds, has_audio=hz is not None,
                              size=size)
    return make


def png_bytes(colour: str = "red", size: str = "64x64") -> bytes:
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
                          "-i", f"color=c={colour}:size={size}", "-frames:v", "1",
                          "-f", "image2pipe", "-c:v", "png", "-"],
                         check=True, capture_output=True)
    return out.stdout


def make_sticker(name: str = "heart", data: bytes | None = None, *,
                 active: bool = True) -> Sticker:
    """A library sticker as the admin makes one (kind and animation read from the bytes)."""
    data = data or png_bytes()
    kind, animated = inspect_sticker(data[:64])
    sticker = Sticker(name=name, kind=kind, animated=animated, is_active=active)
    sticker.image.save(f"{name}.{kind}", ContentFile(data), save=False)
    sticker.save()
    return sticker


# --- measuring outputs ---------------------------------------------------------------


def duration_of(path: Path) -> tuple[float, float]:
    """(video, audio) stream durations in seconds, from the decoded frames."""
    with av.open(str(path)) as container:
        video = [float(f.time or 0.0) for f in container.decode(video=0)]
    with av.open(str(path)) as container:
        end = 0.0
        for frame in container.decode(audio=0):
            end = float(frame.time or 0.0) + frame.samples / frame.sample_rate
    step = (video[1] - video[0]) if len(video) > 1 else 0.0
    return video[-1] + step, end


def frame_at(path: Path, seconds: float) -> np.ndarray[Any, Any]:
    """The RGB frame shown at `seconds` (height, width, 3; uint8)."""
    with av.open(str(path)) as container:
        chosen = None
        for frame in container.decode(video=0):
            if frame.time is not None and frame.time > seconds + 1e-6:
                break
            chosen = frame
        assert chosen is not None
        return chosen.to_ndarray(format="rgb24")


def mean_rgb(frame: np.ndarray[Any, Any], box: tuple[float, float, float, float] | None = None
             ) -> tuple[float, float, float]:
    """The mean colour of the frame, or of a box (x0, y0, x1, y1 as fractions)."""
    if box is not None:
        h, w = frame.shape[:2]
        frame = frame[int(box[1] * h):int(box[3] * h), int(box[0] * w):int(box[2] * w)]
    r, g, b = (float(frame[..., i].mean()) for i in range(3))
    return r, g, b


def dominant_hz(path: Path, start: float = 0.2, end: float | None = None) -> float:
    """The strongest frequency of the audio between `start` and `end` seconds."""
    samples, rate = samples_of(path)
    window = samples[int(start * rate):int(end * rate) if end else None]
    spectrum = np.abs(np.fft.rfft(window * np.hanning(len(window))))
    freqs = np.fft.rfftfreq(len(window), 1 / rate)
    return float(freqs[int(np.argmax(spectrum))])


def rms(path: Path, start: float, end: float) -> float:
    samples, rate = samples_of(path)
    window = samples[int(start * rate):int(end * rate)]
    return float(math.sqrt(float(np.mean(window ** 2)))) if len(window) else 0.0
