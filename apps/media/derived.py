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
    if cover_at is not None:
        # the last frame starts a frame before the end
        times = [max(0.0, min(cover_at, probe.duration_s - 1 / max(probe.frame_rate, 1.0)))]
    else:
        times = poster_times(probe, candidates)
    frames = _frames_at(source, times)
    return _choose_poster(frames, out, chosen_by="creator" if cover_at is not None else "score")


def first_frame(source: Path, out: Path) -> None:
    """The video's first frame, upright, at most 1280 px on its long edge (the start rung's
    size): the web player shows it until the video draws (issue 22)."""
    frames = _frames_at(source, [0.0])
    if not frames:
        raise ToolFailed("no frame could be decoded for the first frame", "")
    image = frames[0][1].convert("RGB")
    image.thumbnail((1280, 1280))
    image.save(out, "JPEG", quality=80, optimize=True, progressive=True)


def _choose_poster(
    frames: list[tuple[float, Image.Image]], out: Path, *, chosen_by: str
) -> dict[str, Any]:
    scored = []
    for at, image in frames:
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
        "chosen_by": chosen_by,
        "candidates": [
            {"at": round(at, 3), "score": round(s, 1), "luma_mean": round(m, 1),
             "edge_variance": round(e, 1)}
            for s, at, m, e, _ in scored
        ],
    }


def preview(source: Path, probe: ProbeResult, out: Path) -> str:
    """An animated WebP of about 3 s from a quarter in, 10 fps, 320 px on the long edge."""
    start, length, size = _preview_window(probe)
    return run_ffmpeg([
        "-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(source), "-an",
        "-vf", f"fps=10,{size}:flags=lanczos,format=yuv420p",
        "-c:v", "libwebp_anim", "-quality", "60", "-loop", "0", str(out),
    ])


def storyboard(
    source: Path, probe: ProbeResult, out_dir: Path, *, base_url: str = ""
) -> tuple[dict[str, Any], str]:
    """A sprite of thumbnails every `interval` seconds, described in JSON and WebVTT."""
    grid = _storyboard_grid(probe)
    log = run_ffmpeg([
        "-i", str(source), "-an", "-frames:v", "1", "-update", "1",
        "-vf", f"fps=1/{grid['interval']:g},scale={grid['width']}:{grid['height']},"
               f"tile={grid['columns']}x{grid['rows']}",
        "-q:v", "5", str(out_dir / "storyboard.jpg"),
    ])
    return storyboard_files(out_dir, probe, base_url=base_url), log


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


# --- The same files from the ladder's decode ------------------------------------------------

# the steps whose files the `ladder` step can write beside its renditions, from its own
# decode of the source (each step falls back to decoding the source itself when they are
# missing: another machine, a re-render, a clip too small to have a `ladder` step)
TAP_STEPS = ("poster", "preview", "storyboard", "audio", "frames")
POSTER_CANDIDATES = 6
TAP_POSTER = "poster_%02d.bmp"


def poster_times(probe: ProbeResult, candidates: int = POSTER_CANDIDATES) -> list[float]:
    span = probe.duration_s
    return [span * (i + 1) / (candidates + 1) for i in range(candidates)]


def _preview_window(probe: ProbeResult) -> tuple[float, float, str]:
    length = min(3.0, probe.duration_s)
    start = max(0.0, min(probe.duration_s * 0.25, probe.duration_s - length))
    size = "scale=-2:320" if probe.height >= probe.width else "scale=320:-2"
    return start, length, size


def _storyboard_grid(probe: ProbeResult) -> dict[str, Any]:
    interval = max(1.0, probe.duration_s / 100)
    count = max(1, int(probe.duration_s // interval))
    columns = min(10, count)
    thumb_w = 90 if probe.height >= probe.width else 160
    return {"image": "storyboard.jpg", "interval": interval, "count": count,
            "columns": columns, "rows": math.ceil(count / columns), "width": thumb_w,
            "height": _even(thumb_w * probe.height / probe.width)}


def tap_outputs(
    probe: ProbeResult, out_dir: Path, steps: list[str]
) -> tuple[int, list[str], list[str]]:
    """Filter chains and outputs that make the files of `steps` (of TAP_STEPS) from copies
    of the decoded source video labelled [x0], [x1], … (upright: ffmpeg's autorotate runs
    before the graph), with exactly the filters and encoders of the step functions below.
    Returns (how many copies, chains, output arguments)."""
    chains: list[str] = []
    args: list[str] = []
    taps = 0

    def tap() -> str:
        nonlocal taps
        taps += 1
        return f"[x{taps - 1}]"

    if "poster" in steps:
        picks = "+".join(
            f"gte(t\\,{at:.3f})*(isnan(prev_selected_t)+lt(prev_selected_t\\,{at:.3f}))"
            for at in poster_times(probe))
        chains.append(f"{tap()}setpts=PTS-STARTPTS,select='gt({picks}\\,0)',"
                      "format=bgr24[tposter]")
        args += ["-map", "[tposter]", "-an", "-fps_mode", "passthrough", "-c:v", "bmp",
                 "-frames:v", str(POSTER_CANDIDATES), str(out_dir / TAP_POSTER)]
    if "preview" in steps:
        start, length, size = _preview_window(probe)
        chains.append(f"{tap()}setpts=PTS-STARTPTS,trim=start={start:.3f}:duration="
                      f"{length:.3f},setpts=PTS-STARTPTS,fps=10,{size}:flags=lanczos,"
                      "format=yuv420p[tpreview]")
        args += ["-map", "[tpreview]", "-an", "-c:v", "libwebp_anim", "-quality", "60",
                 "-loop", "0", str(out_dir / "preview.webp")]
    if "storyboard" in steps:
        grid = _storyboard_grid(probe)
        chains.append(f"{tap()}fps=1/{grid['interval']:g},scale={grid['width']}:"
                      f"{grid['height']},tile={grid['columns']}x{grid['rows']}[tstory]")
        args += ["-map", "[tstory]", "-an", "-frames:v", "1", "-update", "1", "-q:v", "5",
                 str(out_dir / "storyboard.jpg")]
    if "frames" in steps:
        interval = max(1.0, probe.duration_s / 30)
        size = "scale=-2:480" if probe.height >= probe.width else "scale=480:-2"
        (out_dir / "frames").mkdir(parents=True, exist_ok=True)
        chains.append(f"{tap()}fps=1/{interval:g},{size}[tframes]")
        args += ["-map", "[tframes]", "-an", "-q:v", "4", "-frames:v", "30",
                 str(out_dir / "frames" / "frame_%03d.jpg")]
    if "audio" in steps and probe.has_audio:
        args += ["-map", "0:a:0", "-vn", "-c:a", "aac", "-b:a", "128k",
                 "-movflags", "+faststart", str(out_dir / "audio.m4a")]
    return taps, chains, args


def poster_from_candidates(
    directory: Path, probe: ProbeResult, out: Path
) -> dict[str, Any] | None:
    """The poster chosen among the candidates the ladder's decode wrote (None when they are
    not all there: the step then decodes the source itself)."""
    files = sorted(directory.glob("poster_*.bmp"))
    times = poster_times(probe)
    if len(files) != len(times):
        return None
    images = []
    for path in files:
        with Image.open(path) as image:
            images.append(image.convert("RGB"))
    return _choose_poster(list(zip(times, images, strict=True)), out, chosen_by="score")


def storyboard_files(out_dir: Path, probe: ProbeResult, *, base_url: str = "") -> dict[str, Any]:
    """storyboard.json and storyboard.vtt beside a written storyboard.jpg."""
    meta = _storyboard_grid(probe)
    (out_dir / "storyboard.json").write_text(json.dumps(meta))
    interval, columns = meta["interval"], meta["columns"]
    thumb_w, thumb_h = meta["width"], meta["height"]
    cues = ["WEBVTT", ""]
    for index in range(meta["count"]):
        x, y = (index % columns) * thumb_w, (index // columns) * thumb_h
        end = min((index + 1) * interval, probe.duration_s)
        cues += [f"{_vtt(index * interval)} --> {_vtt(end)}",
                 f"{base_url}storyboard.jpg#xywh={x},{y},{thumb_w},{thumb_h}", ""]
    (out_dir / "storyboard.vtt").write_text("\n".join(cues))
    return meta
