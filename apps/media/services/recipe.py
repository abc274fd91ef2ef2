"""The chosen sound and cover (asked of content through a hook), the per-title plan, the
order between steps (what waits for the ladder's decode or a rendition) and what a finished
step publishes (master playlist, progress, playable and ready). The work of each step is
`step_work`.
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

from apps.media import av1, derived, hooks, per_title, storage, transcode
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.probe import ProbeResult
from apps.media.services import av1 as av1_step
from apps.media.services import captions
from apps.media.services._common import (
    FROM_LADDER_STEPS,
    IN_FLIGHT,
    LADDER_STEP,
    RENDITION_PREFIX,
    State,
    StepState,
    _enqueue_steps,
)
from apps.media.services.notify import _notify_on_commit, _run_hooks


class SoundNotReadyError(Exception):
    """The chosen sound's audio is not available yet (another upload still processing)."""


class WaitForStepError(Exception):
    """The step reads another step's output that is not there yet (the ladder's decode,
    or the rendition the MP4 is remuxed from); that step sends it when it finishes."""

    def __init__(self, awaited: str) -> None:
        super().__init__(f"waiting for the {awaited} step")
        self.awaited = awaited


def title_of(asset_id: int) -> dict[str, Any] | None:
    """The asset's per-title plan (`apps.media.per_title`), made by its `ladder` step
    (None before it and when the plan is off)."""
    probe = MediaAsset.objects.filter(pk=asset_id).values_list("probe", flat=True).first()
    title = (probe or {}).get("title")
    return title if isinstance(title, dict) else None


def _plan_title(asset_id: int, source: Path, probe: ProbeResult) -> dict[str, Any] | None:
    """The per-title plan, made once by the `ladder` step (`MEDIA_PER_TITLE_LADDER`) and
    kept in the asset's probe for every later step. Not at validation: its probe encode
    (~2.6 CPU s on a 15 s 1080x1920 clip) would delay the lowest rendition, which is
    today's whatever the plan (`transcode.plan_ladder`), so playback never waits for it."""
    title = title_of(asset_id)
    if title is not None or not settings.MEDIA_PER_TITLE_LADDER:
        return title
    title = per_title.plan_for(source, probe)
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().only("probe").get(pk=asset_id)
        asset.probe = {**(asset.probe or {}), "title": title}
        asset.save(update_fields=["probe", "updated_at"])
    return title


def _mp4_rung(ladder: dict[int, transcode.Rendition]) -> transcode.Rendition:
    return max((r for r in ladder.values() if r.short_edge <= 720), key=lambda r: r.short_edge)


def _rung_step(asset_id: int, rung: int) -> str:
    """The step that writes rung `rung`: its own `rendition-` step, else the ladder."""
    own = f"{RENDITION_PREFIX}{rung}"
    return own if ProcessingStep.objects.filter(asset_id=asset_id, name=own).exists() \
        else LADDER_STEP


def awaited_step(asset_id: int, name: str, probe: ProbeResult) -> str | None:
    """The step `name` must wait for, or None. The tapped steps wait while the `ladder`
    step runs (it writes their files from its decode; a poster at the creator's cover time
    decodes that one frame itself); they are sent when it finishes, so this is only met by
    a copy sent early (the stall sweep). One run while the ladder is not running decodes
    the source itself, as before, and the ladder then leaves it out. The MP4 waits for its
    rendition rendered with the current recipe (it is remuxed from it)."""
    if name == "mp4":
        rung = _mp4_rung({r.short_edge: r for r in transcode.plan_ladder(
            probe, title_of(asset_id))})
        source = _rung_step(asset_id, rung.short_edge)
        step = ProcessingStep.objects.filter(asset_id=asset_id, name=source).first()
        key = recipe_key("mp4", hooks.asset_recipe(asset_id=asset_id))
        if step is not None and (step.state != StepState.DONE
                                 or (step.output or {}).get("recipe") != key):
            return source
        return None
    if name not in derived.TAP_STEPS:
        return None
    if name == "poster" and recipe_key(name, hooks.asset_recipe(asset_id=asset_id)):
        return None
    ladder = ProcessingStep.objects.filter(asset_id=asset_id, name=LADDER_STEP).first()
    return LADDER_STEP if ladder is not None and ladder.state == StepState.RUNNING else None


def _taps_dir(asset_id: int) -> Path:
    """Where the ladder step leaves the files its decode made for the other steps (local
    scratch beside the staging directories; dropped when the asset is ready)."""
    return storage.asset_dir(asset_id) / ".work" / "taps"


def _tap_steps(asset_id: int, recipe: hooks.AssetRecipe) -> list[str]:
    """The tapped steps still to do (a re-render of the ladder for a new sound finds
    them done and writes none)."""
    pending = set(ProcessingStep.objects.filter(
        asset_id=asset_id, name__in=derived.TAP_STEPS).exclude(
        state=StepState.DONE).values_list("name", flat=True))
    return [name for name in derived.TAP_STEPS if name in pending
            and not (name == "poster" and recipe_key(name, recipe))]


def _take_tapped(asset_id: int, name: str, staged: Path) -> Path | None:
    """Moves a file (or directory) the ladder's decode made into `staged`."""
    tapped = _taps_dir(asset_id) / name
    if not tapped.exists():
        return None
    target = staged / name
    tapped.replace(target)
    return target


def _sent_after(asset_id: int, name: str) -> None:
    """After the ladder committed: send the steps made from it that are still pending;
    after a rendition, the MP4 when it is remuxed from that one."""
    if not (name.startswith(RENDITION_PREFIX) or name == LADDER_STEP):
        return
    made_from = FROM_LADDER_STEPS if name == LADDER_STEP else ("mp4",)

    def send() -> None:
        asset = MediaAsset.objects.filter(pk=asset_id).only("probe").first()
        if asset is None or not asset.probe:
            return
        probe = ProbeResult.from_json(asset.probe)
        names = [step for step in ProcessingStep.objects.filter(
            asset_id=asset_id, name__in=made_from,
            state=StepState.PENDING).values_list("name", flat=True)
            if awaited_step(asset_id, step, probe) is None]
        if names:
            _enqueue_steps(asset_id, names)

    transaction.on_commit(send)


def _uses_audio_recipe(name: str) -> bool:
    return name.startswith(RENDITION_PREFIX) or name in (LADDER_STEP, "mp4", av1_step.STEP)


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


def _refresh_progress(asset: MediaAsset) -> None:
    # the AV1 step (made later, for popular posts) is no part of an upload's progress
    steps = list(ProcessingStep.objects.filter(asset=asset).exclude(
        name=av1_step.STEP).values_list("state", flat=True))
    done = sum(1 for state in steps if state == StepState.DONE)
    asset.progress = int(100 * done / len(steps)) if steps else 0
    asset.save(update_fields=["progress", "updated_at"])


def _after_step(asset: MediaAsset, name: str, output: dict[str, Any]) -> None:
    """Under the asset's row lock: the master playlist lists exactly the finished
    renditions; the asset becomes playable with its lowest rendition and ready when every
    step is done."""
    every_step = list(ProcessingStep.objects.filter(asset=asset))
    av1_renditions = av1_step.av1_renditions(every_step)
    # the AV1 step is made later and apart: readiness and the ladder leave it out
    steps = [s for s in every_step if s.name != av1_step.STEP]
    renditions = sorted(
        (s for s in steps if s.name.startswith(RENDITION_PREFIX)),
        key=lambda s: int(s.name.removeprefix(RENDITION_PREFIX)),
    )
    # a rendition being rendered again (a new sound) keeps its finished output and files
    # until the new ones are placed: the master keeps listing it
    done_renditions = [s.output for s in renditions if s.output.get("bandwidth")]
    apart = {r["short_edge"] for r in done_renditions}
    for step in steps:  # (a rung with its own step too is that step's)
        if step.name == LADDER_STEP and step.output.get("renditions"):
            done_renditions += [r for r in step.output["renditions"]
                                if r["short_edge"] not in apart]
    outputs = dict(asset.outputs)
    if name.startswith(RENDITION_PREFIX) or name in (LADDER_STEP, av1_step.STEP):
        # the H.264 variants first, as before; AV1 ones after them, only once encoded
        storage.publish_text(asset.pk, "hls/master.m3u8", av1.master_playlist(
            done_renditions, av1_renditions, subtitles=captions.master_subtitles(asset.pk)))
        outputs["hls"] = "hls/master.m3u8"
        outputs["renditions"] = sorted(done_renditions, key=lambda r: r["short_edge"])
        if av1_renditions:
            outputs["av1"] = sorted(av1_renditions, key=lambda r: r["short_edge"])
        else:
            outputs.pop("av1", None)
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
        if name == "poster" and output.get("first_frame"):
            outputs["first_frame"] = output["first_frame"]
        if isinstance(replaced, str) and replaced != output["name"]:
            # the old poster or MP4 of an earlier recipe
            old_id = asset.pk
            transaction.on_commit(lambda: storage.remove_output(old_id, replaced))
    asset.outputs = outputs
    fields = ["outputs", "updated_at"]
    if renditions:  # (or the ladder wrote it too: a publish came as it finished)
        lowest = int(renditions[0].name.removeprefix(RENDITION_PREFIX))
        lowest_done = renditions[0].state == StepState.DONE or any(
            s.name == LADDER_STEP and s.state == StepState.DONE
            and any(r["short_edge"] == lowest for r in s.output.get("renditions") or [])
            for s in steps)
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
    if asset.state == State.READY:
        taps = _taps_dir(asset.pk)
        transaction.on_commit(lambda: shutil.rmtree(taps, ignore_errors=True))
    asset.save(update_fields=fields)
    _refresh_progress(asset)
    _sent_after(asset.pk, name)
    _notify_on_commit(asset.pk)
    done_id = asset.pk
    transaction.on_commit(lambda: _run_hooks(
        lambda *, asset_id: hooks.run_asset_step_done_hooks(asset_id=asset_id, step=name),
        done_id))
