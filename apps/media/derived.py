"""The small files derived from an upload beside its renditions: the poster (the creator's
cover frame or the best-scoring one), the animated preview, the storyboard sprite, the
audio track (the post's "original sound") and the frames sampled for moderation.

Like `transcode`, every function writes into a directory it is given."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageFilter, ImageStat

from apps.media.probe import ProbeResult
from apps.media.transcode import ToolFailed, _even, run_ffmpeg


def _frames_at(source: Path, times: list[float]) -> list[tuple[float, Image.Image]]:
    """Decoded frames (upright, as PIL images) at or just after each time."""
    out: list[tuple[float, Image.Image]] = []
    with av.open(str(source)) as container:
        stream = container.streams.video[0]
        tb = float(stream.time_base or 0) or 1 / 90000
        for wanted in times:
            container.seek(int(wanted / tb), stream=stream, backward=True, any_frame=False)
            for frame in container.decode(stream):
                if frame.pts is None or frame.pts * tb >= wanted - 0.001:
                    image = frame.to_image()  # type: ignore[no-untyped-call]
                    rotation = int(getattr(frame, "rotation", 0) or 0)
                    if rotation:
                        image = image.rotate(rotation, expand=True)
                    out.append((wanted, image))
                    break
    return out


def frame_score(image: Image.Image) -> tuple[float, float, float]:
    """(score, luma mean, edge variance): black/white frames and blurred ones score low."""
    gray = image.convert("L")
    gray.thumbnail((320, 320))
    mean = ImageStat.Stat(gray).mean[0]
    edges = ImageStat.Stat(gray.filter(ImageFilter.FIND_EDGES)).var[0]
    if mean < 24 or mean > 235:
        return 0.0, mean, edges
    return edges * (1 - abs(mean - 128) / 256), mean, edges


def poster(
    source: Path, probe: ProbeResult, out: Path, candidates: int = 6, *,
    cover_at: float | None = None,
) -> dict[str, Any]:
    """The frame the creator picked (`cover_at`, seconds), else the sharpest, neither
    black nor washed-out frame among evenly spaced candidates."""
    span = probe.duration_s
    if cover_at is not None:
        # the last frame starts a frame before the end
        times = [max(0.0, min(cover_at, span - 1 / max(probe.frame_rate, 1.0)))]
    else:
        times = [span * (i + 1) / (candidates + 1) for i in range(candidates)]
    scored = []
    for at, image in _frames_at(source, times):
        score, mean, edges = frame_score(image)
        scored.append((score, at, mean, edges, image))
    if not scored:
        raise ToolFailed("no frame could be decoded for the poster", "")
    best = max(scored, key=lambda item: item[0])
    image = best[4].convert("RGB")
    image.thumbnail((1080, 1920))
    image.save(out, "JPEG", quality=85, optimize=True, progressive=True)
    return {
        "at": round(best[1], 3),
        "chosen_by": "creator" if cover_at is not None else "score",
        "candidates": [
            {"at": round(at, 3), "score": round(s, 1), "luma_mean": round(m, 1),
             "edge_variance": round(e, 1)}
            for s, at, m, e, _ in scored
        ],
    }


def preview(source: Path, probe: ProbeResult, out: Path) -> str:
    """An animated WebP of about 3 s from a quarter in, 10 fps, 320 px on the long edge."""
    length = min(3.0, probe.duration_s)
    start = max(0.0, min(probe.duration_s * 0.25, probe.duration_s - length))
    size = "scale=-2:320" if probe.height >= probe.width else "scale=320:-2"
    return run_ffmpeg([
        "-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(source), "-an",
        "-vf", f"fps=10,{size}:flags=lanczos,format=yuv420p",
        "-c:v", "libwebp_anim", "-quality", "60", "-loop", "0", str(out),
    ])


def storyboard(
    source: Path, probe: ProbeResult, out_dir: Path, *, base_url: str = ""
) -> tuple[dict[str, Any], str]:
    """A sprite of thumbnails every `interval` seconds, described in JSON and WebVTT."""
    interval = max(1.0, probe.duration_s / 100)
    count = max(1, int(probe.duration_s // interval))
    columns = min(10, count)
    rows = math.ceil(count / columns)
    thumb_w = 90 if probe.height >= probe.width else 160
    thumb_h = _even(thumb_w * probe.height / probe.width)
    log = run_ffmpeg([
        "-i", str(source), "-an", "-frames:v", "1", "-update", "1",
        "-vf", f"fps=1/{interval:g},scale={thumb_w}:{thumb_h},tile={columns}x{rows}",
        "-q:v", "5", str(out_dir / "storyboard.jpg"),
    ])
    meta = {"image": "storyboard.jpg", "interval": interval, "count": count,
            "columns": columns, "rows": rows, "width": thumb_w, "height": thumb_h}
    (out_dir / "storyboard.json").write_text(json.dumps(meta))
    cues = ["WEBVTT", ""]
    for index in range(count):
        x, y = (index % columns) * thumb_w, (index // columns) * thumb_h
        end = min((index + 1) * interval, probe.duration_s)
        cues += [f"{_vtt(index * interval)} --> {_vtt(end)}",
                 f"{base_url}storyboard.jpg#xywh={x},{y},{thumb_w},{thumb_h}", ""]
    (out_dir / "storyboard.vtt").write_text("\n".join(cues))
    return meta, log


def _vtt(seconds: float) -> str:
    whole = int(seconds)
    millis = int((seconds - whole) * 1000)
    return f"{whole // 3600:02d}:{whole % 3600 // 60:02d}:{whole % 60:02d}.{millis:03d}"


def extract_audio(source: Path, out: Path) -> str:
    """The audio as AAC in M4A (the post's "original sound")."""
    return run_ffmpeg(["-i", str(source), "-vn", "-map", "0:a:0", "-c:a", "aac", "-b:a",
                       "128k", "-movflags", "+faststart", str(out)])


def moderation_frames(source: Path, probe: ProbeResult, out_dir: Path) -> tuple[int, str]:
    """Frames sampled for moderation: one a second, at most 30, 480 px on the long edge."""
    interval = max(1.0, probe.duration_s / 30)
    size = "scale=-2:480" if probe.height >= probe.width else "scale=480:-2"
    log = run_ffmpeg(["-i", str(source), "-an", "-vf", f"fps=1/{interval:g},{size}",
                      "-q:v", "4", "-frames:v", "30", str(out_dir / "frame_%03d.jpg")])
    return len(list(out_dir.glob("frame_*.jpg"))), log
