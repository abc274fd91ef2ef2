"""Caption tracks (subtitles) of an asset: speech recognition once the audio is extracted,
creator uploads (WebVTT/SRT), edits, and publishing them next to the renditions.

Publishing writes `hls/subs/<lang>-<version>.vtt` and its media playlist, and rewrites the
master playlist with an EXT-X-MEDIA SUBTITLES group, under the asset's row lock (the same
lock `recipe._after_step` takes to rewrite the master for a new rendition), so the two
never overwrite each other's master. The files are served by `MediaPlayApi` under the
video's own grant: whoever may not watch the video cannot read its captions either."""

from __future__ import annotations

import logging
import re
import tempfile
from pathlib import Path
from typing import Any

from django.db import transaction

from apps.core.errors import ApplicationError
from apps.core.outbox import enqueue_on_commit
from apps.media import asr, av1, hooks, storage, subtitles, transcode
from apps.media.models import CaptionTrack, MediaAsset

logger = logging.getLogger(__name__)

LANGUAGE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$")
SUBS_GROUP = "subs"


class CaptionError(ApplicationError):
    """A caption request that is refused (400 in the error shape); the message says why."""

    code = "invalid_captions"


def _check_language(language: str) -> str:
    if not LANGUAGE.match(language or ""):
        raise CaptionError("The language must be a language tag such as 'en' or 'pt-BR'.")
    return language


def _label(language: str) -> str:
    return language  # the player shows the tag; names per language can come later


def master_subtitles(asset_id: int) -> list[dict[str, str]]:
    """The EXT-X-MEDIA entries of the asset's ready tracks (for the master playlist)."""
    tracks = CaptionTrack.objects.filter(asset_id=asset_id, state=CaptionTrack.State.READY,
                                         version__gt=0).order_by("language")
    return [{"language": t.language, "name": _label(t.language),
             "uri": f"subs/{t.language}-{t.version}.m3u8"} for t in tracks]


def _write_master(asset: MediaAsset) -> None:
    """Under the asset's row lock: the master lists the finished renditions (as
    `_after_step` wrote them) and every ready caption track. Told to search (the
    transcript) through media's captions-changed hook."""
    hooks.run_captions_changed_hooks(asset_id=asset.pk)
    renditions = asset.outputs.get("renditions") or []
    if renditions:
        storage.publish_text(asset.pk, "hls/master.m3u8", av1.master_playlist(
            renditions, asset.outputs.get("av1") or [], subtitles=master_subtitles(asset.pk)))


def _publish(track: CaptionTrack, cues: list[subtitles.Cue], *,
             source: str | None = None, edited: bool = False) -> CaptionTrack:
    """Save `cues` as the track's new version, publish its files and the master."""
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().get(pk=track.asset_id)
        track = CaptionTrack.objects.select_for_update().get(pk=track.pk)
        old = track.version
        track.version = old + 1
        track.cues = list(cues)
        track.state = CaptionTrack.State.READY
        track.error = ""
        track.edited = edited
        if source is not None:
            track.source = source
        track.save()
        stem = f"hls/subs/{track.language}-{track.version}"
        storage.publish_text(asset.pk, f"{stem}.vtt", subtitles.to_vtt(track.cues))
        storage.publish_text(asset.pk, f"{stem}.m3u8", subtitles.media_playlist(
            f"{track.language}-{track.version}.vtt", asset.duration_ms or 0))
        _write_master(asset)
        if old:
            old_stem, asset_id = f"hls/subs/{track.language}-{old}", asset.pk

            def drop_old() -> None:
                storage.remove_output(asset_id, f"{old_stem}.vtt")
                storage.remove_output(asset_id, f"{old_stem}.m3u8")

            transaction.on_commit(drop_old)
    return track


def _track(asset_id: int, language: str, source: str) -> CaptionTrack:
    track, _ = CaptionTrack.objects.get_or_create(
        asset_id=asset_id, language=language, defaults={"source": source})
    return track


def caption_track_request_auto(*, asset: MediaAsset, language: str) -> CaptionTrack:
    """Ask for automatic captions in `language`: refused in words when there is no speech
    model for it or the video has no sound; otherwise recognised by a Celery task as soon
    as the audio is extracted (now, or when the `audio` step finishes)."""
    language = _check_language(language)
    try:
        asr.check_language(asr.get_backend(), language)
    except asr.LanguageNotSupportedError as exc:
        raise CaptionError(str(exc)) from exc
    if asset.probe and asset.probe.get("has_audio") is False:
        raise CaptionError("This video has no sound, so there is nothing to caption.")
    with transaction.atomic():
        track = _track(asset.pk, language, CaptionTrack.Source.AUTO)
        track = CaptionTrack.objects.select_for_update().get(pk=track.pk)
        track.source = CaptionTrack.Source.AUTO
        track.state = CaptionTrack.State.PENDING
        track.error = ""
        track.save(update_fields=["source", "state", "error", "updated_at"])
        if asset.outputs.get("audio"):
            _enqueue_auto(track.pk)
    return track


def _enqueue_auto(track_id: int) -> None:
    from apps.media.tasks import caption_auto

    enqueue_on_commit(caption_auto, track_id)


def captions_after_audio(asset_id: int) -> None:
    """The `audio` step finished (its transaction): start the tracks waiting for it."""
    for track_id in CaptionTrack.objects.filter(
            asset_id=asset_id, source=CaptionTrack.Source.AUTO,
            state=CaptionTrack.State.PENDING).values_list("pk", flat=True):
        _enqueue_auto(track_id)


def _wav(audio: Path, out: Path) -> Path:
    transcode.run_ffmpeg(["-i", str(audio), "-ac", "1", "-ar", "16000", "-c:a", "pcm_s16le",
                          str(out)])
    return out


def caption_track_run_auto(*, track_id: int) -> str:
    """The Celery task's body: recognise the speech of the track's asset and publish."""
    track = CaptionTrack.objects.filter(pk=track_id).select_related("asset").first()
    if track is None or track.state != CaptionTrack.State.PENDING \
            or track.source != CaptionTrack.Source.AUTO:
        return "nothing to do"
    with tempfile.TemporaryDirectory() as tmp:
        audio = storage.fetch_output(track.asset_id, track.asset.outputs.get("audio") or "",
                                     Path(tmp) / "audio.m4a")
        if audio is None:
            return "no audio yet"
        try:
            words = asr.get_backend().transcribe(_wav(audio, Path(tmp) / "audio.wav"),
                                                 track.language)
        except asr.LanguageNotSupportedError as exc:
            return _fail(track, str(exc))
        except (transcode.ToolFailed, OSError, RuntimeError) as exc:
            logger.warning("caption recognition failed for track %s: %s", track_id, exc)
            return _fail(track, "Automatic captions could not be made for this video.")
    cues = subtitles.cues_from_words(words)
    if not cues:
        return _fail(track, "No speech was recognised in this video.")
    cues = subtitles.validate_cues(cues, duration_ms=track.asset.duration_ms)
    _publish(track, cues)
    return f"{len(cues)} cues"


def _fail(track: CaptionTrack, message: str) -> str:
    CaptionTrack.objects.filter(pk=track.pk, state=CaptionTrack.State.PENDING).update(
        state=CaptionTrack.State.FAILED, error=message)
    return message


def caption_track_upload(*, asset: MediaAsset, language: str, data: bytes) -> CaptionTrack:
    """A creator's WebVTT/SRT file as the track for `language` (replacing any)."""
    language = _check_language(language)
    try:
        cues = subtitles.parse(data, duration_ms=asset.duration_ms)
    except subtitles.SubtitleError as exc:
        raise CaptionError(str(exc)) from exc
    return _publish(_track(asset.pk, language, CaptionTrack.Source.UPLOADED), cues,
                    source=CaptionTrack.Source.UPLOADED)


def caption_track_edit(*, track: CaptionTrack, cues: list[dict[str, Any]]) -> CaptionTrack:
    """The creator's fixed words and timings: the whole cue list, checked, as a new
    version."""
    if track.state == CaptionTrack.State.PENDING:
        raise CaptionError("The captions are still being made; edit them once they are ready.")
    try:
        checked = subtitles.validate_cues(
            [{"start_ms": int(c["start_ms"]), "end_ms": int(c["end_ms"]), "text": str(c["text"])}
             for c in cues], duration_ms=track.asset.duration_ms)
    except subtitles.SubtitleError as exc:
        raise CaptionError(str(exc)) from exc
    if not checked:
        raise CaptionError("A caption track needs at least one cue; delete it instead.")
    return _publish(track, checked, edited=True)


def caption_track_delete(*, track: CaptionTrack) -> None:
    with transaction.atomic():
        asset = MediaAsset.objects.select_for_update().get(pk=track.asset_id)
        stem = f"hls/subs/{track.language}-{track.version}"
        track.delete()
        _write_master(asset)
        asset_id = asset.pk

        def drop() -> None:
            storage.remove_output(asset_id, f"{stem}.vtt")
            storage.remove_output(asset_id, f"{stem}.m3u8")

        transaction.on_commit(drop)
