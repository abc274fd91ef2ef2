"""Each effect of the edit document rendered for real by the one ffmpeg graph
(apps.studio.graph through services.render_document) and checked by decoding the output:
durations, frame colours, text and stickers by pixel comparison, audio pitch by the
dominant frequency of a sine input, the chroma key."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest
from django.core.files.base import ContentFile

from apps.media.transcode import ffmpeg_exe
from apps.studio import services
from apps.studio.document import validate_document
from tests.content.factories import LibrarySoundFactory
from tests.studio.conftest import (
    clip_file,
    dominant_hz,
    duration_of,
    frame_at,
    make_sticker,
    mean_rgb,
    png_bytes,
    rms,
)

pytestmark = pytest.mark.django_db

BLACK = "color=c=black"


def render(user: Any, tmp_path: Path, *clips: dict[str, Any], preview: bool = False,
           name: str = "out", **rest: Any) -> Path:
    doc = validate_document({"version": 1, "clips": list(clips), **rest}, user=user)
    work = tmp_path / f"work-{name}"
    work.mkdir()
    out = tmp_path / f"{name}.mp4"
    services.render_document(doc, work=work, out=out, preview=preview)
    return out


def clip(asset: Any, in_ms: int = 0, out_ms: int | None = None, **rest: Any) -> dict[str, Any]:
    return {"asset_id": str(asset.pk), "in_ms": in_ms,
            "out_ms": out_ms if out_ms is not None else asset.duration_ms, **rest}


def test_speed_and_a_transition_give_the_documented_duration(user, source, tmp_path):
    a, b = source("a"), source("b", hz=None)
    out = render(user, tmp_path, clip(a, speed=2.0),  # 2 s at 2x: 1 s
                 clip(b, 0, 1000, speed=0.5,  # 1 s at 0.5x: 2 s, fading in for 0.5 s
                      transition={"kind": "fade", "duration_ms": 500}))
    video, audio = duration_of(out)
    assert video == pytest.approx(2.5, abs=0.05)
    assert audio == pytest.approx(2.5, abs=0.05)


def test_a_fade_mixes_the_clips_and_a_slide_moves_one_in(user, source, tmp_path):
    red = source("red", src="color=c=red", seconds=1.0, hz=None)
    blue = source("blue", src="color=c=blue", seconds=1.0, hz=None)
    fade = render(user, tmp_path, clip(red), clip(blue, transition={
        "kind": "fade", "duration_ms": 400}), name="fade")
    # the fade runs from 0.6 s to 1.0 s
    r, _, b = mean_rgb(frame_at(fade, 0.3))
    assert r > 200
    assert b < 40
    r, _, b = mean_rgb(frame_at(fade, 0.8))
    assert 70 < r < 190
    assert 70 < b < 190
    r, _, b = mean_rgb(frame_at(fade, 1.3))
    assert r < 40
    assert b > 200
    slide = render(user, tmp_path, clip(red), clip(blue, transition={
        "kind": "slide", "duration_ms": 400}), name="slide")
    frame = frame_at(slide, 0.8)
    left, right = mean_rgb(frame, (0, 0, 0.2, 1)), mean_rgb(frame, (0.8, 0, 1, 1))
    # sliding left: the new clip comes in from the right while the old one is still left
    assert left[0] > 200
    assert left[2] < 40
    assert right[2] > 200
    assert right[0] < 40


def test_colour_presets_and_adjustments_change_the_frames(user, source, tmp_path):
    grey = source("grey", src="color=c=0x808080", seconds=1.0, hz=None)
    red = source("red", src="color=c=0xc03030", seconds=1.0, hz=None)
    plain = mean_rgb(frame_at(render(user, tmp_path, clip(grey), name="plain"), 0.5))
    assert abs(plain[0] - plain[2]) < 6
    warm = mean_rgb(frame_at(render(user, tmp_path, clip(grey), filter={"preset": "warm"},
                                    name="warm"), 0.5))
    assert warm[0] - warm[2] > 30
    cool = mean_rgb(frame_at(render(user, tmp_path, clip(grey), filter={"preset": "cool"},
                                    name="cool"), 0.5))
    assert cool[2] - cool[0] > 30
    mono = mean_rgb(frame_at(render(user, tmp_path, clip(red), filter={"preset": "mono"},
                                    name="mono"), 0.5))
    assert max(mono) - min(mono) < 8
    bright = mean_rgb(frame_at(render(user, tmp_path, clip(grey), filter={
        "brightness": 0.25}, name="bright"), 0.5))
    assert sum(bright) / 3 > sum(plain) / 3 + 40
    pale = mean_rgb(frame_at(render(user, tmp_path, clip(red), filter={"saturation": 0.0},
                                    name="pale"), 0.5))
    assert max(pale) - min(pale) < 8


def test_text_is_drawn_where_and_when_it_is_placed(user, source, tmp_path):
    black = source("black", src=BLACK, seconds=2.0, hz=None)
    plain = render(user, tmp_path, clip(black), name="plain")
    text = render(user, tmp_path, clip(black), name="text", texts=[{
        "text": "HELLO", "start_ms": 0, "end_ms": 1000, "x": 0.5, "y": 0.25, "size": 0.08,
        "colour": "#ffffff"}])
    shown, gone, before = frame_at(text, 0.5), frame_at(text, 1.5), frame_at(plain, 0.5)
    h, w = shown.shape[:2]
    band = (slice(int(0.18 * h), int(0.32 * h)), slice(int(0.1 * w), int(0.9 * w)))
    changed = abs(shown.astype(int) - before.astype(int)).max(axis=2) > 60
    assert changed[band].sum() > 150  # the letters' pixels
    assert changed.sum() - changed[band].sum() < 10  # nothing outside the text's band
    assert shown[band].max() > 200
    assert frame_at(text, 1.5)[band].max() < 40  # after end_ms it is gone
    assert gone.shape == shown.shape


def test_stickers_png_and_animated_webp_overlay_in_their_time(user, source, tmp_path):
    black = source("black", src=BLACK, seconds=2.0, hz=None)
    red = make_sticker("red", png_bytes("red"))
    out = render(user, tmp_path, clip(black), name="png", stickers=[{
        "sticker_id": str(red.pk), "start_ms": 500, "end_ms": 1500, "x": 0.5, "y": 0.5,
        "scale": 0.4}])
    centre = (0.45, 0.45, 0.55, 0.55)
    assert mean_rgb(frame_at(out, 0.2), centre)[0] < 30
    r, g, b = mean_rgb(frame_at(out, 1.0), centre)
    assert r > 200
    assert g < 40
    assert b < 40
    assert mean_rgb(frame_at(out, 1.8), centre)[0] < 30
    # an animated WebP (lime, then yellow: green throughout), looping while it is placed
    webp = tmp_path / "anim.webp"
    subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi",
                    "-i", "color=c=lime:size=32x32:rate=10:duration=0.3", "-vf",
                    "drawbox=color=yellow:t=fill:enable='gte(t,0.15)'", "-loop", "0",
                    "-c:v", "libwebp_anim", str(webp)], check=True)
    animated = make_sticker("anim", webp.read_bytes())
    assert (animated.kind, animated.animated) == ("webp", True)
    out = render(user, tmp_path, clip(black), name="webp", stickers=[{
        "sticker_id": str(animated.pk), "start_ms": 0, "end_ms": 2000, "scale": 0.4}])
    for t in (0.1, 1.0, 1.9):  # the 0.3 s animation still shows near the end
        assert mean_rgb(frame_at(out, t), centre)[1] > 180


def test_chroma_key_replaces_the_green_screen(user, source, tmp_path):
    screen = source("screen", src="color=c=0x00ff00", seconds=1.0, hz=None,
                    vf="drawbox=x=iw/4:y=ih/4:w=iw/2:h=ih/2:color=red:t=fill")
    out = render(user, tmp_path, clip(screen), chroma_key={
        "colour": "#00ff00", "similarity": 0.2, "background_colour": "#0000ff"})
    frame = frame_at(out, 0.5)
    r, g, b = mean_rgb(frame, (0.0, 0.0, 0.15, 0.15))
    assert b > 200
    assert g < 40
    r, g, b = mean_rgb(frame, (0.4, 0.4, 0.6, 0.6))
    assert r > 200
    assert g < 40
    assert b < 40
    # a background upload (shorter than the edit: it loops) instead of a colour
    backdrop = source("backdrop", src="color=c=yellow", seconds=0.4, hz=None)
    out = render(user, tmp_path, clip(screen), name="backdrop", chroma_key={
        "colour": "#00ff00", "similarity": 0.2, "background_asset_id": str(backdrop.pk)})
    for t in (0.2, 0.8):
        r, g, b = mean_rgb(frame_at(out, t), (0.0, 0.0, 0.15, 0.15))
        assert r > 200
        assert g > 200
        assert b < 60
    assert duration_of(out)[0] == pytest.approx(1.0, abs=0.05)


def test_pitch_moves_with_voice_effects_and_tape_speed(user, source, tmp_path):
    tone = source("tone", hz=440.0, seconds=2.0, src=BLACK)
    assert dominant_hz(render(user, tmp_path, clip(tone), name="same")) == \
        pytest.approx(440, abs=8)
    up = render(user, tmp_path, clip(tone), voice="pitch_up", name="up")
    assert dominant_hz(up) == pytest.approx(660, abs=12)
    assert duration_of(up)[1] == pytest.approx(2.0, abs=0.05)  # tempo kept
    down = render(user, tmp_path, clip(tone), voice="pitch_down", name="down")
    assert dominant_hz(down) == pytest.approx(293, abs=10)
    tape = render(user, tmp_path, clip(tone, speed=2.0, keep_pitch=False), name="tape")
    assert dominant_hz(tape, 0.1, 0.9) == pytest.approx(880, abs=15)
    kept = render(user, tmp_path, clip(tone, speed=2.0), name="kept")
    assert dominant_hz(kept, 0.1, 0.9) == pytest.approx(440, abs=10)
    assert duration_of(kept)[1] == pytest.approx(1.0, abs=0.05)


def test_echo_and_robot_voice_effects(user, source, tmp_path):
    # a 0.3 s beep then silence: the echo repeats it into the silence
    beep = source("beep", hz=440.0, seconds=1.5, src=BLACK,
                  af="volume=enable='gt(t,0.3)':volume=0")
    dry = render(user, tmp_path, clip(beep), name="dry")
    wet = render(user, tmp_path, clip(beep), voice="echo", name="wet")
    assert rms(dry, 0.33, 0.5) < 0.002
    assert rms(wet, 0.33, 0.5) > 0.01
    robot = render(user, tmp_path, clip(source("tone", hz=440.0, src=BLACK)),
                   voice="robot", name="robot")
    assert abs(dominant_hz(robot) - 440) > 20  # the tone becomes a buzz


def test_the_sound_is_mixed_under_the_original(user, source, tmp_path):
    tone = source("tone", hz=440.0, seconds=2.0, src=BLACK)
    track = clip_file(tmp_path, "track", source=BLACK, seconds=3.0, hz=1000.0)
    sound = LibrarySoundFactory()
    sound.audio_file.save("track.m4a", ContentFile(track.read_bytes()))
    out = render(user, tmp_path, clip(tone), original_volume=0.0,
                 sound={"sound_id": str(sound.pk), "volume": 1.0})
    assert dominant_hz(out) == pytest.approx(1000, abs=10)
    assert duration_of(out)[1] == pytest.approx(2.0, abs=0.05)  # the edit's length


def test_a_preview_is_small(user, source, tmp_path):
    tall = source("tall", size="360x640", seconds=1.0)
    out = render(user, tmp_path, clip(tall), preview=True)
    assert frame_at(out, 0.5).shape[:2] == (426, 240)
    final = render(user, tmp_path, clip(tall), name="final")
    assert frame_at(final, 0.5).shape[:2] == (640, 360)
