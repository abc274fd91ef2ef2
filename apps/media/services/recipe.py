"""The chosen sound and cover (asked of content through a hook), the work of each step,
and what a finished step publishes (master playlist, progress, playable and ready).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.media import derived, hooks, storage, transcode
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import ProbeResult
from apps.media.services import captions
from apps.media.services._common import (
    IN_FLIGHT,
    LADDER_STEP,
    RENDITION_PREFIX,
    State,
    StepState,
    _enqueue_steps,
    _local_source,
)
from apps.media.services.notify import _notify_on_commit, _run_hooks


class SoundNotReadyError(Exception):
    """The chosen sound's audio is not available yet (another upload still processing)."""


def _uses_audio_recipe(name: str) -> bool:
    return name.startswith(RENDITION_PREFIX) or name in (LADDER_STEP, "mp4")


def recipe_key(name: str, recipe: hooks.AssetRecipe) -> dict[str, Any] | None:
    """What of the recipe a step's output depends on (kept in the step's output; a step
    whose key no longer matches is rendered again). None: the upload as it is."""
    if _uses_audio_recipe(name):
        if recipe.sound_file:
            sound: str | None = f"file:{recipe.sound_file}"
        elif recipe.sound_asset_id is not None:
            sound = f"asset:{recipe.sound_asset_id}"
        else:
            sound = None
        mode = recipe.sound_mix if recipe.sound_mix in ("keep", "duck", "mute") else "keep"
        if sound is None and mode != "mute":
            return None  # nothing to mix and nothing to mute
        return {"sound": sound, "mix": mode}
    if name == "poster" and recipe.cover_time_ms is not None:
        return {"cover_time_ms": int(recipe.cover_time_ms)}
    return None


def _tag(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:8]


def _sound_mix(recipe: hooks.AssetRecipe, key: dict[str, Any], work: Path) -> transcode.SoundMix:
    """The chosen sound as a local file for ffmpeg."""
    work.mkdir(parents=True, exist_ok=True)
    path: Path | None = None
    if recipe.sound_file:
        path = storage.fetch_stored(recipe.sound_file, work / "sound")
        if path is None:
            raise FileNotFoundError(f"the sound file {recipe.sound_file!r} is missing")
    elif recipe.sound_asset_id is not None:
        other = MediaAsset.objects.filter(pk=recipe.sound_asset_id).first()
        name = (other.outputs or {}).get("audio") if other is not None else None
        if isinstance(name, str):
            path = storage.fetch_output(recipe.sound_asset_id, name, work / "sound.m4a")
        elif other is not None and other.state in IN_FLIGHT and (
                not other.probe or other.probe.get("has_audio")):
            raise SoundNotReadyError(f"the audio of asset {other.pk} is not extracted yet")
        # else: that upload has no audio (or is gone): the sound is silence
    return transcode.SoundMix(path=path, mode=key["mix"], tag=_tag(key))


def _drop_sound(staged: Path) -> None:
    shutil.rmtree(staged / ".sound", ignore_errors=True)


def asset_recipe_changed(*, asset_id: int) -> list[str]:
    """The recipe (sound, mix, cover) may have changed: the finished steps whose output
    depends on what changed are rendered again. Their old files stay served (the master
    keeps listing the old renditions) until the new ones are placed; new files have new
    names, so no cache serves an old segment under a new playlist. Returns the steps."""
    recipe = hooks.asset_recipe(asset_id=asset_id)
    now = timezone.now()
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().filter(pk=asset_id).first()
        if asset is None or asset.state not in (State.PROCESSING, State.READY):
            return []
        stale = [
            step.name for step in ProcessingStep.objects.filter(asset=asset, state=StepState.DONE)
            if (_uses_audio_recipe(step.name) or step.name == "poster")
            and (step.output or {}).get("recipe") != recipe_key(step.name, recipe)
        ]
        if not stale:
            return []
        ProcessingStep.objects.filter(asset=asset, name__in=stale, state=StepState.DONE).update(
            state=StepState.PENDING, claimed_by="", finished_at=None, updated_at=now)
        if asset.state == State.READY:
            asset.state, asset.ready_at = State.PROCESSING, None
            asset.save(update_fields=["state", "ready_at", "updated_at"])
        _refresh_progress(asset)
        _enqueue_steps(asset_id, stale)
        _notify_on_commit(asset_id)
    return stale


def _do_step(
    asset_id: int, name: str, probe: ProbeResult, staged: Path, heartbeat: Any
) -> tuple[dict[str, Any], str]:
    source = _local_source(asset_id)
    preset = settings.MEDIA_X264_PRESET
    ladder = {r.short_edge: r for r in transcode.plan_ladder(probe)}
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
        outputs, log = transcode.transcode_ladder(
            source, probe, upper, staged, preset=preset, heartbeat=heartbeat, mix=mix
        )
        for rendition in upper:  # each directory is complete: the command has finished
            storage.publish_dir(staged / rendition.name, asset_id, f"hls/{rendition.name}")
        return {"renditions": outputs, "recipe": key}, log
    if name == "mp4":
        rendition = max((r for r in ladder.values() if r.short_edge <= 720),
                        key=lambda r: r.short_edge)
        file = f"video-{mix.tag}.mp4" if mix is not None else "video.mp4"
        log = transcode.mp4_fallback(source, probe, rendition, staged / file,
                                     preset=preset, heartbeat=heartbeat, mix=mix)
        storage.publish_file(staged / file, asset_id, file)
        return {"name": file, "short_edge": rendition.short_edge, "recipe": key,
                "width": rendition.width, "height": rendition.height}, log
    if name == "poster":
        file = f"poster-{_tag(key)}.jpg" if key is not None else "poster.jpg"
        cover = None if recipe.cover_time_ms is None else recipe.cover_time_ms / 1000
        chosen = derived.poster(source, probe, staged / file, cover_at=cover)
        storage.publish_file(staged / file, asset_id, file)
        return {"name": file, "recipe": key, **chosen}, ""
    if name == "preview":
        log = derived.preview(source, probe, staged / "preview.webp")
        storage.publish_file(staged / "preview.webp", asset_id, "preview.webp")
        return {"name": "preview.webp"}, log
    if name == "storyboard":
        meta, log = derived.storyboard(source, probe, staged)
        for file in ("storyboard.jpg", "storyboard.json", "storyboard.vtt"):
            storage.publish_file(staged / file, asset_id, file)
        return meta, log
    if name == "audio":
        log = derived.extract_audio(source, staged / "audio.m4a")
        storage.publish_file(staged / "audio.m4a", asset_id, "audio.m4a")
        return {"name": "audio.m4a"}, log
    if name == "frames":
        count, log = derived.moderation_frames(source, probe, staged)
        storage.publish_dir(staged, asset_id, "moderation")
        staged.mkdir()  # the caller removes it
        return {"directory": "moderation", "count": count}, log
    raise ValueError(f"unknown step {name}")


def _refresh_progress(asset: MediaAsset) -> None:
    steps = list(ProcessingStep.objects.filter(asset=asset).values_list("state", flat=True))
    done = sum(1 for state in steps if state == StepState.DONE)
    asset.progress = int(100 * done / len(steps)) if steps else 0
    asset.save(update_fields=["progress", "updated_at"])


def _after_step(asset: MediaAsset, name: str, output: dict[str, Any]) -> None:
    """Under the asset's row lock: the master playlist lists exactly the finished
    renditions; the asset becomes playable with its lowest rendition and ready when every
    step is done."""
    steps = list(ProcessingStep.objects.filter(asset=asset))
    renditions = sorted(
        (s for s in steps if s.name.startswith(RENDITION_PREFIX)),
        key=lambda s: int(s.name.removeprefix(RENDITION_PREFIX)),
    )
    # a rendition being rendered again (a new sound) keeps its finished output and files
    # until the new ones are placed: the master keeps listing it
    done_renditions = [s.output for s in renditions if s.output.get("bandwidth")]
    for step in steps:
        if step.name == LADDER_STEP and step.output.get("renditions"):
            done_renditions += step.output["renditions"]
    outputs = dict(asset.outputs)
    if name.startswith(RENDITION_PREFIX) or name == LADDER_STEP:
        storage.publish_text(asset.pk, "hls/master.m3u8", transcode.master_playlist(
            done_renditions, subtitles=captions.master_subtitles(asset.pk)))
        outputs["hls"] = "hls/master.m3u8"
        outputs["renditions"] = sorted(done_renditions, key=lambda r: r["short_edge"])
    elif name == "storyboard":
        outputs["storyboard"] = {"image": "storyboard.jpg", "json": "storyboard.json",
                                 "vtt": "storyboard.vtt", **output}
    elif name == "frames":
        outputs["moderation_frames"] = output
    else:
        if name == "audio":
            captions.captions_after_audio(asset.pk)
        replaced = outputs.get(name)
        outputs[name] = output["name"]
        if isinstance(replaced, str) and replaced != output["name"]:
            # the old poster or MP4 of an earlier recipe
            old_id = asset.pk
            transaction.on_commit(lambda: storage.remove_output(old_id, replaced))
    asset.outputs = outputs
    fields = ["outputs", "updated_at"]
    if renditions:
        lowest_done = renditions[0].state == StepState.DONE
    else:  # single pass: the ladder step carries the lowest rung too
        lowest_done = any(s.name == LADDER_STEP and s.state == StepState.DONE for s in steps)
    if lowest_done and asset.playable_at is None:
        asset.playable_at = timezone.now()
        fields.append("playable_at")
        asset_id = asset.pk
        transaction.on_commit(lambda: _run_hooks(hooks.run_asset_playable_hooks, asset_id))
    if all(s.state == StepState.DONE for s in steps) and asset.state == State.PROCESSING:
        asset.state = State.READY
        asset.ready_at = timezone.now()
        fields += ["state", "ready_at"]
        if storage.outputs_are_remote():
            ready_id = asset.pk
            transaction.on_commit(lambda: storage.drop_local_scratch(ready_id))
    asset.save(update_fields=fields)
    _refresh_progress(asset)
    _notify_on_commit(asset.pk)
    done_id = asset.pk
    transaction.on_commit(lambda: _run_hooks(
        lambda *, asset_id: hooks.run_asset_step_done_hooks(asset_id=asset_id, step=name),
        done_id))
