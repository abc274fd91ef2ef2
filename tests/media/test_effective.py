"""The effective resolution of a source (apps.media.effective) and what the per-title plan
does with it: a 540 picture upscaled to 1080x1920, by nearest neighbour or by bicubic
interpolation, is found at 540; a sharp native 1080 picture is not, nor a soft one with a
sharp region; the plan is deterministic for a clip and leaves out the rungs above an
upscale."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import numpy as np
import pytest

from apps.media import effective, per_title, transcode
from apps.media.probe import probe_file
from tests.media.conftest import make_clip

TALL = "1080x1920"
# natural-looking stand-ins: a fractal (fine detail everywhere, no repeated pattern) and
# testsrc2 (sharp graphic edges, text), both with light sensor noise
PICTURES = {
    "fractal": "mandelbrot=s={size},noise=alls=3",
    "pattern": "testsrc2=s={size},noise=alls=3",
}


def frame(graph: str) -> np.ndarray:
    """One frame of a lavfi graph, as the pipeline's sample writes it (PGM)."""
    out = subprocess.run(
        [transcode.ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-f", "lavfi",
         "-i", graph, "-frames:v", "1", "-pix_fmt", "gray", "-c:v", "pgm",
         "-f", "image2pipe", "-"],
        capture_output=True, check=True).stdout
    return effective.read_pgm(out)


@pytest.mark.parametrize("picture", sorted(PICTURES))
def test_an_upscale_is_found_and_a_native_picture_is_not(picture: str) -> None:
    source = PICTURES[picture]
    native = frame(source.format(size=TALL))
    assert native.shape == (1920, 1080)
    assert effective.detect([native]) == effective.Effective(1080, effective.NATIVE)
    small = source.format(size="540x960")
    nearest = frame(f"{small},scale={TALL.replace('x', ':')}:flags=neighbor")
    bicubic = frame(f"{small},scale={TALL.replace('x', ':')}:flags=bicubic")
    assert effective.detect([nearest]) == effective.Effective(540, effective.REPLICATED)
    assert effective.detect([bicubic]) == effective.Effective(540, effective.SMOOTH)
    # a 720 export (not a divisor of 1080: the interpolation test finds it)
    lanczos = frame(f"{source.format(size='720x1280')},scale=1080:1920:flags=lanczos")
    assert effective.detect([lanczos]) == effective.Effective(720, effective.SMOOTH)
    # grain added after the upscale lives at 1080: native again
    grainy = frame(f"{small},scale=1080:1920:flags=bicubic,noise=alls=30")
    assert effective.detect([grainy]).kind == effective.NATIVE
    # the same frames, the same answer
    assert effective.detect([bicubic, nearest]) == effective.detect([bicubic, nearest])


def test_a_soft_picture_with_a_sharp_region_stays_native() -> None:
    # the bench's talking head: a blurred background (its detail would pass at 540) and a
    # sharp 360x480 region that would not: the 99th-percentile tile keeps it native
    talking = frame("mandelbrot=s=1080x1920,gblur=sigma=4[bg];testsrc2=s=360x480[head];"
                    "[bg][head]overlay=x=360:y=640,noise=alls=3")
    assert effective.detect([talking]) == effective.Effective(1080, effective.NATIVE)
    # a flat frame says nothing about resolution
    flat = frame("color=c=gray:s=1080x1920")
    assert effective.detect([flat]) == effective.Effective(1080, effective.NATIVE)


def test_the_plan_leaves_out_the_rungs_above_an_upscale(tmp_path: Path) -> None:
    upscaled = make_clip(tmp_path / "upscaled.mp4", size="540x960", seconds=1.5, audio=False,
                         extra_output=["-vf", "scale=1080:1920:flags=bicubic", "-crf", "12"])
    pixels = make_clip(tmp_path / "pixels.mp4", size="540x960", seconds=1.5, audio=False,
                       extra_output=["-vf", "scale=1080:1920:flags=neighbor", "-crf", "12"])
    native = make_clip(tmp_path / "native.mp4", size=TALL, seconds=1.5, audio=False,
                       extra_output=["-crf", "12"])
    plans = {}
    for name, clip in (("upscaled", upscaled), ("pixels", pixels), ("native", native)):
        probe = probe_file(clip)
        first = per_title.measure_sample(clip, probe)
        # deterministic: the same sample, frames and plan for the same clip
        assert per_title.measure_sample(clip, probe) == first
        plans[name] = per_title.plan_for(clip, probe)
        assert plans[name] == per_title.title_plan(first.bpp, first.noise, first.effective)
    assert plans["upscaled"]["effective"] == [540, effective.SMOOTH]
    assert plans["pixels"]["effective"] == [540, effective.REPLICATED]
    assert plans["native"]["effective"] == [1080, effective.NATIVE]
    probe = probe_file(native)

    def rungs(name: str) -> list[int]:
        return [r.short_edge for r in transcode.plan_ladder(probe, plans[name])]

    # an interpolated upscale: one rung above its size (per_title.UPSCALE_HEADROOM), none
    # higher; repeated pixels: the source's own size stays on top (sharp, and cheaper than
    # the resampled 720), 720 goes
    assert per_title.UPSCALE_HEADROOM == 1
    assert rungs("upscaled") == [240, 360, 540, 720]
    assert plans["upscaled"]["top"] == 720
    # its top rung (720) is not the source's own: no higher CRF there, whatever the clip
    # (the lowest rung is today's whatever the plan)
    assert plans["upscaled"]["top_crf"] is None
    assert {r.crf for r in transcode.plan_ladder(probe, plans["upscaled"])[1:]} == {
        plans["upscaled"]["crf"]}
    assert rungs("pixels") == [240, 360, 540, 1080]
    assert rungs("native") == [240, 360, 540, 720, 1080]
    assert rungs("native") == [r.short_edge for r in transcode.plan_ladder(probe)]
    # a 720 source of the same upscale keeps its rungs up to 720; without the headroom it
    # would stop at 540
    smaller = dataclasses.replace(probe, width=720, height=1280)
    assert [r.short_edge for r in transcode.plan_ladder(smaller, plans["upscaled"])] == [
        240, 360, 540, 720]
    none_above = per_title.title_plan(0.2, 0.0, effective.Effective(540, effective.SMOOTH))
    assert none_above["top"] == 720
    at_its_size = {**none_above, "top": 540}  # the plan with UPSCALE_HEADROOM = 0
    assert [r.short_edge for r in transcode.plan_ladder(probe, at_its_size)] == [
        240, 360, 540]
