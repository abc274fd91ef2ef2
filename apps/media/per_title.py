"""The per-title ladder: a quick complexity probe of the clip chooses each rung's rate cap
and which rungs exist, so that a talking head does not get the bits of a dance in the rain.

The probe encodes a sample of the source (up to `SAMPLE_SECONDS` from the middle) at the
360 rung's size with x264 `ultrafast` at CRF 23 on one thread (the same bytes for the same
clip on every machine run), and measures its bits per pixel per frame (`bpp`). The plan:

- `factor` = bpp / `REFERENCE_BPP` clamped to [`MIN_FACTOR`, 1]: every rung's cap
  (`transcode.BITS_PER_PIXEL`) is scaled by it. A clip as complex as the reference (the
  synthetic testsrc2 the ladder was tuned on) keeps today's caps; easy clips get lower caps.
- rungs: a clip below `SPARSE_BPP` (near static: a slide, a screen recording) drops the
  540 rung (its neighbours already cover it: the steps between rungs cost almost nothing
  in bytes for such content).

- crf: x264's CRF for every rung (`crf_for`, `CRF_STEPS`): today's 23 unless the clip is
  easy (+6 below 0.05 bpp, +4 below 0.15).
- preset and tune: every rung gets x264 `PRESET` (medium) and `TUNE` (psy=0:aq-mode=3),
  whatever the clip (at veryfast the same options cost more bytes at equal VMAF).
- noise: the same sample, denoised (`DENOISE`, temporal) and encoded again from the same
  decode; the share of the bits that goes away is `noise`. A busy, noisy clip (`noisy`)
  loses the 540 and 1080 rungs (`NOISY_DROP`; 720 stays on top, `transcode.TOP_FLOOR`).

- the highest rung of a hard clip: CRF + `TOP_CRF_STEP` (the tuning's gain at the top,
  above today's top VMAF, taken back as bytes).
- effective resolution (`apps.media.effective`, on three full-size frames of the same
  decode): an interpolated upscale (a 540p clip exported at 1080p) gets no rung above its
  size (`top`); a grid of repeated pixels (the bench's screen and text kinds, pixels
  repeated 4x) loses the rungs above the grid but the source's own size, which keeps the
  pixels sharp for less than the resampled 720 (`drop`).

`MEDIA_PER_TITLE_LADDER` (env `SWIPEME_MEDIA_PER_TITLE_LADDER`): the `ladder` step makes
the plan before it encodes and stores it in the asset's probe (`probe["title"]`), so every
later step reads the same ladder (`services.recipe._plan_title`). Not at validation: the
probe (~2.6 CPU s, 5-6 s of wall time on a busy 2-core machine, for a 15 s 1080x1920 clip)
would delay the lowest rendition, which makes the asset playable and is today's rung
whatever the plan (`transcode.plan_ladder`).

Why the caps alone saved nothing (`bench/media_quality.py --per-title`, 2026-12-06: the same
bytes and VMAF as today's ladder on the static, talking-head and fast-motion clips, ratio
1.00): the rungs are a *capped* CRF 23, and on easy content CRF 23 already spends less than
even the scaled cap, so lowering caps changes nothing; the caps bind only on hard content,
where the factor is 1. What the bench scores is each rung's VMAF at the viewer's 1080x1920
screen, so between two rungs resolution dominates: on an easy clip a rung at a higher CRF
lands above today's curve (the VMAF today's ladder reaches between the rung below and this
one, for fewer bytes). Hence the CRF. The bench clips' complexities (this probe): static
0.023, talking head 0.094, fast motion 0.239, screen (Game of Life) 0.428, low light 0.571,
text 2.64 bpp — so static and talking head are "easy", the synthetic screen recording is not.
A CRF step alone slides a rung along today's rate-quality curve (the talking head 0.80x,
static 0.85x, fast motion >= 0.90x). With medium + psy=0:aq-mode=3 and the noise rule
(docs/benchmarks.md, "Per-title ladder", 7 December): 0.842x today's bytes at equal VMAF
over the set's total, 0.808 the mean of the clips (talking head 0.67, text 0.66, low light
0.79, static 0.85, fast motion 0.90, screen 0.98), for 1.2-1.7x the ladder's x264 CPU. With
the effective resolution and the top rung's CRF (and the lowest rung today's): 0.779x over
the six kinds (4 s clips, 7 December, 16:55 session), so the plan is on by default.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from apps.media import effective
from apps.media.probe import ProbeResult
from apps.media.transcode import CRF, LADDER, _even, output_fps, run_ffmpeg

# x264 CRF by complexity, (bpp below which, CRF added to transcode.CRF), first match: on an
# easy clip every rung looks much better than the rung below it, so a higher CRF moves each
# rung onto a better point of the ladder's rate-quality curve (the same VMAF as today's
# ladder gives between two rungs, for fewer bytes); hard clips keep today's CRF
CRF_STEPS = ((0.05, 6), (0.15, 4))
SAMPLE_SECONDS = 3.0
REFERENCE_BPP = 0.12
MIN_FACTOR = 0.45
SPARSE_BPP = 0.015
PROBE_EDGE = 360
# x264 options of every per-title rung: psycho-visual optimisations off (they spend bits on
# keeping grain and texture energy, which VMAF does not reward) and x264's adaptive
# quantisation mode 3 (auto-variance biased to dark scenes)
TUNE = "psy=0:aq-mode=3"
# x264's preset for every per-title rung: the tuning above helps VMAF per bit only with a
# slower analysis (at veryfast it cost 1.1-3.7x today's bytes on the hard clips), and
# medium's ladder encode costs about 1.7-2x veryfast's CPU (bench/media_quality.py)
PRESET = "medium"
# noise: the share of the probe's bits that a temporal denoise (`DENOISE`, on a copy of the
# same decoded sample) takes away. Sensor noise changes every pixel every frame and costs
# bits at every rung; on a noisy, busy clip the higher rungs spend their caps on grain for
# no more VMAF than a lower one, so they are left out (`NOISY_DROP`)
DENOISE = "atadenoise=0a=0.1:0b=0.2:1a=0.1:1b=0.2:2a=0.1:2b=0.2"
NOISY_SHARE = 0.25
NOISY_BPP = 0.3
NOISY_DROP = [540, 1080]
# CRF added on the highest rung of a hard clip (one at today's CRF): with `PRESET` and
# `TUNE` that rung lands about 2 VMAF above today's top (fast motion 97.4 against 95.6,
# screen 97.3 against 95.2), where the eye gets little for the bytes; 2 more CRF gives those
# back (bench/media_quality.py, 7 December: fast motion's 1080 at CRF 25 96.0 VMAF for 0.69x
# today's 1080 bytes, screen's 96.3 for 0.85x, low light's 720 42.4 against 42.3 for
# 0.95x). Not on an upscale capped at its size (`top`): that rung is below today's top VMAF
TOP_CRF_STEP = 2
# ladder rungs kept above an interpolated upscale's own size (`effective.SMOOTH`)
UPSCALE_HEADROOM = 1


@dataclass(frozen=True)
class Sample:
    """What the probe encodes measured: bits per pixel per frame, and the share of those
    bits a temporal denoise removes (near 0: clean content, moving or not; towards 1:
    grain); and the resolution the source's detail has (`apps.media.effective`)."""

    bpp: float
    noise: float
    effective: effective.Effective


def measure_complexity(source: Path, probe: ProbeResult) -> float:
    """Bits per pixel per frame of a fast CRF encode of the sample (deterministic)."""
    return measure_sample(source, probe).bpp


def _x264_probe(out: Path) -> list[str]:
    return ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "23", "-threads", "1",
            "-x264-params", "sliced-threads=0", "-f", "h264", str(out)]


def measure_sample(source: Path, probe: ProbeResult) -> Sample:
    """The probe encodes of the sample, as is and denoised, and `effective.FRAMES` frames
    of it at full size one second apart (the effective resolution), from one decode
    (deterministic: one thread each). The frames' `scale` converts them to grey on their
    branch: without it the format is negotiated through `split` and the encodes get grey
    too (0.14 bpp instead of 0.24 on the fast-motion clip)."""
    length = min(SAMPLE_SECONDS, probe.duration_s)
    start = max(0.0, probe.duration_s / 2 - length / 2)
    short, long_ = min(probe.width, probe.height), max(probe.width, probe.height)
    scale = min(PROBE_EDGE, short) / short
    s, l_ = _even(short * scale), _even(long_ * scale)
    width, height = (s, l_) if probe.width <= probe.height else (l_, s)
    fps = output_fps(probe)
    with tempfile.TemporaryDirectory(prefix="per-title-") as tmp:
        plain, denoised = Path(tmp) / "sample.h264", Path(tmp) / "denoised.h264"
        graph = (f"[0:v]split[s][f];[s]fps={fps:g},scale={width}:{height}:flags=bilinear,"
                 f"format=yuv420p,split[a][b];[b]{DENOISE}[c];"
                 f"[f]select='lt(selected_n\\,{effective.FRAMES})*(isnan(prev_selected_t)"
                 "+gte(t-prev_selected_t\\,1))',scale,format=gray[g]")
        run_ffmpeg(["-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(source),
                    "-filter_complex", graph, "-map", "[a]", *_x264_probe(plain),
                    "-map", "[c]", *_x264_probe(denoised),
                    "-map", "[g]", "-fps_mode", "passthrough", "-c:v", "pgm",
                    str(Path(tmp) / "frame-%d.pgm")])
        bits = plain.stat().st_size * 8
        removed = 1 - denoised.stat().st_size * 8 / bits if bits else 0.0
        stills = [effective.read_pgm(path.read_bytes())
                  for path in sorted(Path(tmp).glob("frame-*.pgm"))]
    frames = max(1, round(length * fps))
    found = effective.detect(stills) if stills else effective.Effective(
        min(probe.width, probe.height), effective.NATIVE)
    return Sample(bits / (width * height * frames), max(0.0, removed), found)


def crf_for(bpp: float) -> int:
    """The clip's x264 CRF: today's (`transcode.CRF`) unless the clip is easy."""
    return CRF + next((added for limit, added in CRF_STEPS if bpp < limit), 0)


def noisy(bpp: float, noise: float) -> bool:
    return bpp >= NOISY_BPP and noise >= NOISY_SHARE


def title_plan(bpp: float, noise: float = 0.0,
               found: effective.Effective | None = None) -> dict[str, Any]:
    factor = max(MIN_FACTOR, min(1.0, bpp / REFERENCE_BPP))
    drop = [540] if bpp < SPARSE_BPP else NOISY_DROP if noisy(bpp, noise) else []
    top = None
    if found is not None and found.kind == effective.SMOOTH:
        # the rungs above an interpolated upscale's size carry no detail; one is kept
        # (`UPSCALE_HEADROOM`) for a large screen, where the rung at the upscale's size,
        # encoded at its own resolution and scaled up by the player, scored ~5 VMAF below
        # today's top (bench/media_quality.py --kinds upscaled)
        above = [edge for edge in LADDER if edge > found.edge]
        top = above[UPSCALE_HEADROOM - 1] if len(above) >= UPSCALE_HEADROOM > 0 else (
            found.edge if UPSCALE_HEADROOM == 0 else None)
    elif found is not None and found.kind == effective.REPLICATED:
        # the rungs above the pixel grid: resamplings of it, which cost more than the
        # source's own size (where the repeated pixels stay sharp, and x264 finds them
        # cheap) for less VMAF; `transcode.plan_ladder` keeps the top rung when nothing of
        # `TOP_FLOOR` or more is left, which is the source's own size on a 1080 source
        drop = sorted({*drop, *(edge for edge in LADDER if edge > found.edge)})
    return {
        "bpp": round(bpp, 5),
        "noise": round(noise, 4),
        "factor": round(factor, 3),
        "drop": list(drop),
        "top": top,
        "effective": [found.edge, found.kind] if found is not None else None,
        "crf": crf_for(bpp),
        # a hard clip's highest rung, when it is the source's own size
        "top_crf": CRF + TOP_CRF_STEP if crf_for(bpp) == CRF and top is None else None,
        "preset": PRESET,
        "tune": TUNE,
    }


def plan_for(source: Path, probe: ProbeResult) -> dict[str, Any]:
    sample = measure_sample(source, probe)
    return title_plan(sample.bpp, sample.noise, sample.effective)
