"""The work of each processing step, in its staging directory: a rendition, the ladder
(every rung above the lowest, or all of them, plus the files the other steps take from
its decode), the AV1 renditions, the MP4 remuxed from a rendition, the poster, preview,
storyboard, audio and moderation frames. `steps` claims a step and calls `do_step`;
`recipe` says what each step's output depends on and publishes it when done."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from django.conf import settings

from apps.media import derived, hooks, storage, transcode
from apps.media.models import ProcessingStep
from apps.media.probe import ProbeResult
from apps.media.services import av1 as av1_step
from apps.media.services._common import LADDER_STEP, RENDITION_PREFIX, _local_source
from apps.media.services.recipe import (
    _drop_sound,
    _mp4_rung,
    _plan_title,
    _sound_mix,
    _tag,
    _take_tapped,
    _tap_steps,
    _taps_dir,
    _uses_audio_recipe,
    recipe_key,
    title_of,
)


def do_step(
    asset_id: int, name: str, probe: ProbeResult, staged: Path, heartbeat: Any
) -> tuple[dict[str, Any], str]:
    source = _local_source(asset_id)
    preset = settings.MEDIA_X264_PRESET
    title = _plan_title(asset_id, source, probe) if name == LADDER_STEP else title_of(asset_id)
    ladder = {r.short_edge: r for r in transcode.plan_ladder(probe, title)}
    recipe = hooks.asset_recipe(asset_id=asset_id)
    mix: transcode.SoundMix | None = None
    key = recipe_key(name, recipe)
    if key is not None and _uses_audio_recipe(name):
        mix = _sound_mix(recipe, key, staged / ".sound")
    if name.startswith(RENDITION_PREFIX):
        rendition = ladder[int(name.removeprefix(RENDITION_PREFIX))]
        output, log = transcode.transcode_rendition(
            source, probe, rendition, staged, preset=preset, heartbeat=heartbeat, mix=mix
        )
        _drop_sound(staged)
        storage.publish_dir(staged, asset_id, f"hls/{rendition.name}")
        return {**output, "recipe": key}, log
    if name == LADDER_STEP:
        rungs = sorted(ladder.values(), key=lambda r: r.short_edge)
        lowest_apart = ProcessingStep.objects.filter(
            asset_id=asset_id, name__startswith=RENDITION_PREFIX).exists()
        upper = rungs[1:] if lowest_apart else rungs
        # the files of the other steps still to do come from this same decode
        tap_steps = _tap_steps(asset_id, recipe)
        taps_dir = staged / ".taps"
        taps_dir.mkdir()
        taps = derived.tap_outputs(probe, taps_dir, tap_steps) if tap_steps else None
        outputs: list[dict[str, Any]] = []
        log = "the plan left no rung above the lowest and no file to tap"
        if upper or taps is not None:  # (a plan may keep the lowest rung only)
            outputs, log = transcode.transcode_ladder(
                source, probe, upper, staged, preset=preset, heartbeat=heartbeat, mix=mix,
                taps=taps,
            )
        if not lowest_apart and ProcessingStep.objects.filter(
                asset_id=asset_id, name__startswith=RENDITION_PREFIX).exists():
            # a publish came while this ran (`asset_playback_wanted`): the lowest rung is
            # that step's; this one's copy is left out (one writer per rendition)
            upper = rungs[1:]
            outputs = [o for o in outputs if o["short_edge"] != rungs[0].short_edge]
        for rendition in upper:  # each directory is complete: the command has finished
            storage.publish_dir(staged / rendition.name, asset_id, f"hls/{rendition.name}")
        if tap_steps:
            storage.place_dir(taps_dir, _taps_dir(asset_id))
        return {"renditions": outputs, "recipe": key, "tapped": tap_steps}, log
    if name == av1_step.STEP:  # on the bulk queue, for a post past the view threshold
        output, log = av1_step.run_step(asset_id, source, probe, title, staged,
                                        heartbeat, mix, key)
        _drop_sound(staged)
        return output, log
    if name == "mp4":
        rendition = _mp4_rung(ladder)
        file = f"video-{mix.tag}.mp4" if mix is not None else "video.mp4"
        made_by = "remux"
        rung_dir = _fetch_rendition(asset_id, rendition.name, staged / ".rung")
        if rung_dir is not None:
            log = transcode.mp4_from_rendition(rung_dir / "index.m3u8", staged / file)
            shutil.rmtree(staged / ".rung", ignore_errors=True)
        else:  # the rendition is not at hand: encode it as the rendition was
            made_by = "encode"
            log = transcode.mp4_fallback(source, probe, rendition, staged / file,
                                         preset=preset, heartbeat=heartbeat, mix=mix)
        storage.publish_file(staged / file, asset_id, file)
        return {"name": file, "short_edge": rendition.short_edge, "recipe": key,
                "width": rendition.width, "height": rendition.height, "made_by": made_by}, log
    if name == "poster":
        file = f"poster-{_tag(key)}.jpg" if key is not None else "poster.jpg"
        chosen = None
        if key is None and _taps_dir(asset_id).is_dir():
            chosen = derived.poster_from_candidates(_taps_dir(asset_id), probe, staged / file)
            for candidate in _taps_dir(asset_id).glob("poster_*.bmp"):
                candidate.unlink(missing_ok=True)
        if chosen is None:
            cover = None if recipe.cover_time_ms is None else recipe.cover_time_ms / 1000
            chosen = derived.poster(source, probe, staged / file, cover_at=cover)
        else:
            chosen["made_by"] = "ladder"
        storage.publish_file(staged / file, asset_id, file)
        # the first frame (whatever the cover): the player's placeholder until it draws
        derived.first_frame(source, staged / "first_frame.jpg")
        storage.publish_file(staged / "first_frame.jpg", asset_id, "first_frame.jpg")
        return {"name": file, "recipe": key, "first_frame": "first_frame.jpg", **chosen}, ""
    if name == "preview":
        log = "from the ladder's decode"
        if _take_tapped(asset_id, "preview.webp", staged) is None:
            log = derived.preview(source, probe, staged / "preview.webp")
        storage.publish_file(staged / "preview.webp", asset_id, "preview.webp")
        return {"name": "preview.webp", "made_by": _made_by(log)}, log
    if name == "storyboard":
        log = "from the ladder's decode"
        if _take_tapped(asset_id, "storyboard.jpg", staged) is not None:
            meta = derived.storyboard_files(staged, probe)
        else:
            meta, log = derived.storyboard(source, probe, staged)
        for file in ("storyboard.jpg", "storyboard.json", "storyboard.vtt"):
            storage.publish_file(staged / file, asset_id, file)
        return {**meta, "made_by": _made_by(log)}, log
    if name == "audio":
        log = "from the ladder's decode"
        if _take_tapped(asset_id, "audio.m4a", staged) is None:
            log = derived.extract_audio(source, staged / "audio.m4a")
        storage.publish_file(staged / "audio.m4a", asset_id, "audio.m4a")
        return {"name": "audio.m4a", "made_by": _made_by(log)}, log
    if name == "frames":
        log = "from the ladder's decode"
        tapped = _take_tapped(asset_id, "frames", staged)
        if tapped is not None:
            for frame in tapped.iterdir():
                frame.replace(staged / frame.name)
            tapped.rmdir()
            count = len(list(staged.glob("frame_*.jpg")))
        else:
            count, log = derived.moderation_frames(source, probe, staged)
        storage.publish_dir(staged, asset_id, "moderation")
        staged.mkdir()  # the caller removes it
        return {"directory": "moderation", "count": count, "made_by": _made_by(log)}, log
    raise ValueError(f"unknown step {name}")


def _made_by(log: str) -> str:
    return "ladder" if log == "from the ladder's decode" else "source"


def _fetch_rendition(asset_id: int, name: str, dest: Path) -> Path | None:
    """A published rendition's playlist, init and media segments as local files: the
    published directory itself on local storage, else copied from the bucket into `dest`;
    None when one is missing."""
    if not storage.outputs_are_remote():
        local = storage.asset_dir(asset_id) / "hls" / name
        return local if (local / "index.m3u8").is_file() else None
    playlist = storage.read_output(asset_id, f"hls/{name}/index.m3u8")
    if playlist is None:
        return None
    text = playlist.decode()
    found = transcode._MAP.search(text)
    files = [found.group(1) if found else "init.mp4"]
    files += [line for line in text.splitlines() if line and not line.startswith("#")]
    dest.mkdir(parents=True, exist_ok=True)
    for file in files:
        data = storage.read_output(asset_id, f"hls/{name}/{file}")
        if data is None:
            return None
        (dest / file).write_bytes(data)
    (dest / "index.m3u8").write_bytes(playlist)
    return dest
