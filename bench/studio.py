"""Creator studio benchmark: the studio's render of an edit against one hand-written ffmpeg
command producing the same output, in the same run; and the preview render's time.

    flock /tmp/helpers/bench.lock .venv/bin/python bench/studio.py --runs 3 \
        --json var/bench/studio.json

What it does (no database, no Celery: the studio's graph compiler and the same ffmpeg
runner the `media` worker uses, apps.studio.graph + apps.media.transcode.run_ffmpeg; the
document's database checks take milliseconds and are left out):

1. Makes three 12 s 720x1280 30 fps sources with lavfi (testsrc2 + a sine, x264 CRF 18),
   a PNG sticker.
2. **Studio**: a 3-clip, 30 s edit — clip 1 at 1x, clip 2 at 1.2x (tempo kept), clip 3 at
   1x, cut together — with the "warm" LUT plus a saturation tweak, a sticker for 10 s, a
   text overlay (a PNG drawn by apps.studio.textimage, overlaid by both sides) and the
   pitch-up voice effect, compiled by `graph.build_command` and rendered (final quality:
   x264 veryfast CRF 18, AAC 192k, 720x1280).
3. **Hand-written**: one ffmpeg command a person would write for the same edit (the same
   filters and encoder settings, without the studio's generic plumbing: per-clip audio
   padding, timebase fixes, the final trims).
4. **Preview**: a 15 s edit (three 5 s clips, same effects) rendered as a preview
   (240-pixel short edge, ultrafast).
5. Checks both renders last 30 s, prints studio/hand ratio (goal: at most 1.1) and the
   preview's seconds; repeats `--runs` times, medians and load (bench/_runs.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.test")

import django  # noqa: E402

django.setup()

from _runs import Runs, add_arguments  # noqa: E402

from apps.media.transcode import ffmpeg_exe, run_ffmpeg  # noqa: E402
from apps.studio import graph, luts, textimage  # noqa: E402
from apps.studio.document import (  # noqa: E402
    Clip,
    Document,
    StickerPlacement,
    Text,
    font_path,
)


def make_sources(work: Path, seconds: float) -> list[Path]:
    paths = []
    for i, hz in enumerate((440, 550, 660)):
        out = work / f"src{i}.mp4"
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y",
                        "-f", "lavfi", "-i", f"testsrc2=size=720x1280:rate=30:duration={seconds}",
                        "-f", "lavfi", "-i", f"sine=frequency={hz}:duration={seconds}",
                        "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                        "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(out)],
                       check=True)
        paths.append(out)
    return paths


def make_sticker(work: Path) -> Path:
    out = work / "sticker.png"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "color=c=red@0.8:size=128x128,format=rgba", "-frames:v", "1",
                    str(out)], check=True)
    return out


def edit(scale_ms: int) -> Document:
    """Three clips cut together: `scale_ms` each after speed (10 000 → 30 s)."""
    return Document(
        clips=[Clip(1, 0, scale_ms, 1.0, True, "cut", 0),
               Clip(2, 0, int(scale_ms * 1.2), 1.2, True, "cut", 0),
               Clip(3, 2000, 2000 + scale_ms, 1.0, True, "cut", 0)],
        preset="warm", saturation=1.2,
        texts=[Text("Day one at the beach", "sans-bold", 0.05, "#ffffff", None,
                    0, scale_ms * 2, 0.5, 0.15)],
        stickers=[StickerPlacement(9, 0.2, scale_ms // 2, scale_ms * 3 // 2, 0.75, 0.8)],
        voice="pitch_up",
    )


def hand_written(sources: list[Path], sticker: Path, text: Path, out: Path) -> list[str]:
    """The same 30 s edit as one command written by hand."""
    v = "scale=720:1280,setsar=1,fps=30"
    a = "aresample=48000,aformat=sample_fmts=fltp:channel_layouts=stereo"
    graph_text = ";".join([
        f"[0:v]{v}[v0]", f"[0:a]{a}[a0]",
        f"[1:v]setpts=PTS/1.2,{v}[v1]", f"[1:a]{a},atempo=1.2[a1]",
        f"[2:v]{v}[v2]", f"[2:a]{a}[a2]",
        "[v0][a0][v1][a1][v2][a2]concat=n=3:v=1:a=1[v][a]",
        f"[v]lut3d=file={luts.lut_path('warm')},eq=saturation=1.2[l]",
        "[3:v]scale=144:-2[s]",
        "[l][s]overlay=x=540-overlay_w/2:y=1024-overlay_h/2:"
        "enable='between(t,5,15)'[o]",
        # the text: the same Pillow-drawn PNG the studio overlays (drawtext cannot draw
        # colour emoji), over the picture for its 20 s
        "[o][4:v]overlay=x=360-overlay_w/2:y=192-overlay_h/2:enable='between(t,0,20)'[vo]",
        "[a]rubberband=pitch=1.5:formant=shifted[ao]",
    ])
    return ["-ss", "0", "-t", "10", "-i", str(sources[0]),
            "-ss", "0", "-t", "12", "-i", str(sources[1]),
            "-ss", "2", "-t", "10", "-i", str(sources[2]),
            "-loop", "1", "-framerate", "30", "-t", "30", "-i", str(sticker),
            "-loop", "1", "-framerate", "30", "-t", "30", "-i", str(text),
            "-filter_complex", graph_text, "-map", "[vo]", "-map", "[ao]",
            "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-c:a", "aac",
            "-b:a", "192k", "-pix_fmt", "yuv420p", "-r", "30", "-movflags", "+faststart",
            str(out)]


def duration(path: Path) -> float:
    import av

    with av.open(str(path)) as container:
        return float(container.duration or 0) / 1_000_000


def timed(args: list[str]) -> float:
    started = time.monotonic()
    run_ffmpeg(args)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, default_runs=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-studio-") as tmp:
        work = Path(tmp)
        sources = make_sources(work, 12.0)
        sticker = make_sticker(work)
        full, short = edit(10_000), edit(5_000)
        canvas = graph.canvas_for(720, 1280, preview=False)
        small = graph.canvas_for(720, 1280, preview=True)
        # the text overlay as the studio's service makes it: a PNG sized to each canvas
        font = [font_path(t.font) for t in full.texts]
        (work / "final").mkdir()
        (work / "small").mkdir()
        text = textimage.write_images(full.texts, font, canvas.height, work / "final")[0]
        small_text = textimage.write_images(short.texts, font, small.height, work / "small")
        sources_in = {i + 1: graph.Source(p, True) for i, p in enumerate(sources)}
        inputs = graph.Inputs(sources=sources_in, stickers={9: graph.StickerFile(sticker, False)},
                              text_images=[text])
        small_inputs = graph.Inputs(sources=sources_in,
                                    stickers={9: graph.StickerFile(sticker, False)},
                                    text_images=small_text)
        runs = Runs("studio", args)
        for run in runs:
            # alternate the order so neither side always runs on a warmer cache
            order = ("studio", "hand") if run.index % 2 else ("hand", "studio")
            seconds = {}
            for side in order:
                out = work / f"{side}.mp4"
                if side == "studio":
                    seconds[side] = timed(graph.build_command(full, inputs, canvas, out))
                else:
                    seconds[side] = timed(hand_written(sources, sticker, text, out))
                length = duration(out)
                assert abs(length - 30.0) < 0.2, f"{side} lasts {length:.2f} s"
            preview_s = timed(graph.build_command(short, small_inputs, small,
                                                  work / "preview.mp4"))
            assert abs(duration(work / "preview.mp4") - 15.0) < 0.2
            run.figure("studio render 30 s (s)", seconds["studio"], "s")
            run.figure("hand-written command (s)", seconds["hand"], "s")
            run.figure("preview 15 s edit (s)", preview_s, "s")
            run.ratio("studio/hand", seconds["studio"], seconds["hand"])
            print(f"  studio {seconds['studio']:.2f} s, hand {seconds['hand']:.2f} s, "
                  f"ratio {seconds['studio'] / seconds['hand']:.3f}; preview {preview_s:.2f} s",
                  flush=True)
        runs.summary()


if __name__ == "__main__":
    main()
