"""Every write of automated detection.

Uploads: media's step-done hook starts `asset_scan` (a task) once the moderation frames and
the audio are extracted. The scan stores the upload's features (frame PDQ hashes, nudity
scores, audio fingerprint) and its findings on `AssetCheck`, records a `Scan`, then settles
each post waiting in `reviewing`: the policy engine weighs the upload's findings with the
post's caption (and ignores an audio match on the catalogue sound the post licensed), and
the outcome is applied through the enforcement service (remove, age-restrict, limit reach),
an automated case (review), or `post_release_from_review`.

Content's publish gate (`publish_gate`) holds every post whose upload has no finished scan;
with one, it scans the caption there and then and lets a clean post through at once.

Text elsewhere (comments, bios, usernames, display names) is scanned by tasks started from
comments' and accounts' hooks. A change of any rule, list, claim or setting re-evaluates
the stored features of every scanned upload in batches (`rescan_schedule`).
"""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.content import services as content_services
from apps.content.models import Post, Sound
from apps.core.ids import allocate_ids
from apps.media import storage
from apps.media.models import MediaAsset, ProcessingStep
from apps.moderation.detection import audio, cases, nudity, pdq, text
from apps.moderation.detection.engine import (
    DEFAULT_RULES,
    Match,
    Rule,
    Signal,
    Verdict,
    evaluate,
)
from apps.moderation.detection.models import (
    SEVERITY,
    AssetCheck,
    DetectionSettings,
    HashEntry,
    HashList,
    Outcome,
    PolicyRule,
    RightsClaim,
    Scan,
    SoundFingerprint,
    TermList,
)
from apps.moderation.policies import Policy

logger = logging.getLogger(__name__)

SCAN_STEPS = ("frames", "audio")
HASH_CHUNK = 20_000  # hash-list rows compared at once (bounds memory of the XOR table)
RESCAN_BATCH = 100
RUNNING_STALE = timedelta(minutes=10)
PENDING_STALE = timedelta(minutes=5)


# --- configuration ---------------------------------------------------------------------------


def detection_settings() -> DetectionSettings:
    """The settings row (seeded by a migration); defaults if staff deleted it. Never
    written here: the publish gate reads it inside other apps' concurrent transactions."""
    return DetectionSettings.objects.filter(pk=1).first() or DetectionSettings(pk=1)


def policy_rules_seed() -> int:
    """Rows for the built-in default rules that are missing (staff then edit them).
    Returns how many were created."""
    created = 0
    for rule in DEFAULT_RULES.values():
        _, made = PolicyRule.objects.get_or_create(policy=rule.policy, defaults={
            "block_at": rule.block_at, "review_at": rule.review_at,
            "age_restrict_at": rule.age_restrict_at, "limit_reach_at": rule.limit_reach_at,
            "on_match": rule.on_match, "is_active": rule.is_active})
        created += made
    return created


def _rules() -> dict[str, Rule]:
    return {
        row.policy: Rule(row.policy, row.block_at, row.review_at, row.age_restrict_at,
                         row.limit_reach_at, row.on_match, row.is_active)
        for row in PolicyRule.objects.all()
    }


def _term_lists(language: str) -> list[TermList]:
    base = (language or "").split("-")[0].lower()
    return list(TermList.objects.filter(is_active=True)
                .filter(Q(language="") | Q(language__iexact=base) | Q(language__iexact=language)))


@contextmanager
def _timed(timings: dict[str, int], name: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[name] = round((time.perf_counter() - start) * 1000)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()


def _signals(rows: list[dict[str, Any]]) -> list[Signal]:
    return [Signal(r["policy"], r["source"], float(r["score"])) for r in rows]


def _matches(rows: list[dict[str, Any]]) -> list[Match]:
    return [Match(r["policy"], r["source"], r.get("outcome", ""), r.get("detail", {}))
            for r in rows]


def _signal_json(signal: Signal) -> dict[str, Any]:
    return {"policy": signal.policy, "source": signal.source, "score": signal.score}


def _match_json(match: Match) -> dict[str, Any]:
    return {"policy": match.policy, "source": match.source, "outcome": match.outcome,
            "detail": match.detail}


# --- text ------------------------------------------------------------------------------------


def _spam_signal(*, author: User | None, content: str, exclude_post_id: int | None,
                 exclude_comment_id: int | None, conf: DetectionSettings) -> dict[str, Any]:
    """Link spam, the same text repeated across the author's recent posts and comments, and
    a new account posting fast. Combined as independent evidence (noisy-OR)."""
    link_score = text.link_spam_score(content)
    repeats = 0
    velocity = 0.0
    if author is not None:
        since = timezone.now() - timedelta(hours=conf.spam_window_hours)
        mine = text.normalised_for_repeats(content)
        if mine:
            posts = (Post.objects.filter(author_id=author.pk, created_at__gte=since)
                     .exclude(pk=exclude_post_id or 0).order_by("-id")
                     .values_list("caption", flat=True)[:200])
            comments = (Comment.objects.filter(author_id=author.pk, created_at__gte=since)
                        .exclude(pk=exclude_comment_id or 0).order_by("-id")
                        .values_list("text", flat=True)[:200])
            repeats = sum(1 for other in [*posts, *comments]
                          if text.normalised_for_repeats(other) == mine)
        age = timezone.now() - author.date_joined
        if age < timedelta(hours=conf.new_account_hours):
            hour = timezone.now() - timedelta(hours=1)
            recent = (Post.objects.filter(author_id=author.pk, created_at__gte=hour).count()
                      + Comment.objects.filter(author_id=author.pk, created_at__gte=hour).count())
            limit = max(1, conf.new_account_max_items_per_hour)
            velocity = min(1.0, (recent - limit) / (2 * limit)) if recent > limit else 0.0
    repeat_score = min(1.0, repeats / 3)
    combined = 1 - (1 - link_score) * (1 - repeat_score) * (1 - velocity)
    return {"score": round(combined, 4), "links": round(link_score, 4),
            "link_count": len(text.links(content)), "repeats": repeats,
            "repeat_score": round(repeat_score, 4), "velocity": round(velocity, 4)}


def text_findings(*, content: str, author: User | None, language: str, field: str,
                  exclude_post_id: int | None = None, exclude_comment_id: int | None = None,
                  ) -> tuple[list[Signal], list[Match], dict[str, Any], dict[str, int]]:
    """Signals and matches of one text, with the raw scores and timings for the record."""
    conf = detection_settings()
    timings: dict[str, int] = {}
    scores: dict[str, Any] = {"length": len(content)}
    with _timed(timings, "classifier"):
        abuse = text.abuse_score(content)
    scores["abuse"] = abuse
    with _timed(timings, "terms"):
        lists = _term_lists(language)
        by_id = {row.pk: row for row in lists}
        hits = text.term_hits(content, [(row.pk, text.parse_terms(row.terms)) for row in lists],
                              substring=field == "username")
    with _timed(timings, "spam"):
        spam = _spam_signal(author=author, content=content, exclude_post_id=exclude_post_id,
                            exclude_comment_id=exclude_comment_id, conf=conf)
    scores["spam"] = spam
    signals = [Signal(Policy.HATE_HARASSMENT, "abuse_classifier", abuse),
               Signal(Policy.SPAM_SCAM, "spam", spam["score"])]
    matches = [Match(by_id[hit.list_id].policy, "terms", by_id[hit.list_id].outcome,
                     {"list": by_id[hit.list_id].name, "list_id": str(hit.list_id),
                      "language": by_id[hit.list_id].language, "term": hit.term})
               for hit in hits]
    return signals, matches, scores, timings


def _record(*, target_type: str, target_id: int, kind: str, trigger: str, verdict: Verdict,
            scores: dict[str, Any], matches: list[Match], versions: dict[str, str],
            timings: dict[str, int], field: str = "", digest: str = "") -> Scan:
    return Scan.objects.create(
        target_type=target_type, target_id=target_id, kind=kind, trigger=trigger,
        field=field, digest=digest, outcome=verdict.outcome, policy=verdict.policy,
        decisions=verdict.as_json(), scores=scores,
        matches=[_match_json(m) for m in matches], model_versions=versions,
        timings_ms=timings)


def text_scan(*, target_type: str, target_id: int, field: str, content: str,
              author: User | None, language: str = "", trigger: str,
              exclude_post_id: int | None = None, exclude_comment_id: int | None = None,
              ) -> tuple[Verdict, Scan]:
    signals, matches, scores, timings = text_findings(
        content=content, author=author, language=language, field=field,
        exclude_post_id=exclude_post_id, exclude_comment_id=exclude_comment_id)
    verdict = evaluate(signals, matches, _rules())
    scan = _record(target_type=target_type, target_id=target_id, kind=Scan.Kind.TEXT,
                   trigger=trigger, verdict=verdict, scores=scores, matches=matches,
                   versions={"classifier": text.model_version()}, timings=timings,
                   field=field, digest=_digest(content))
    return verdict, scan


def _evidence(verdict: Verdict, scan: Scan | None, **extra: Any) -> dict[str, Any]:
    return {
        "source": "detection", "scan_id": str(scan.pk) if scan else None,
        "outcome": verdict.outcome,
        "decisions": [d for d in verdict.as_json() if d["outcome"] != Outcome.ALLOW],
        **extra,
    }


def comment_scan(*, comment_id: int) -> str:
    """A new comment: removed when the engine blocks it, a case when it needs review."""
    comment = Comment.objects.select_related("author", "post").filter(pk=comment_id).first()
    if comment is None:
        return "missing"
    verdict, scan = text_scan(
        target_type="comment", target_id=comment.pk, field="text", content=comment.text,
        author=comment.author, language=comment.post.language or comment.author.language,
        trigger=Scan.Trigger.COMMENT, exclude_comment_id=comment.pk)
    if verdict.outcome == Outcome.BLOCK:
        case = cases.open_case(target_type="comment", target_id=comment.pk,
                               policy=verdict.policy, evidence=_evidence(verdict, scan),
                               reason="Automated detection blocked this comment.", priority=1)
        cases.enforce(action="remove", target_type="comment", target_id=comment.pk,
                      policy=verdict.policy, reason="Removed by automated detection.",
                      case=case)
    elif verdict.outcome == Outcome.REVIEW:
        cases.open_case(target_type="comment", target_id=comment.pk, policy=verdict.policy,
                        evidence=_evidence(verdict, scan),
                        reason="Automated detection flagged this comment.")
    return verdict.outcome


PROFILE_FIELDS = ("username", "display_name", "bio")


def profile_scan(*, user_id: int, fields: list[str]) -> str:
    """Changed profile text: a case on the account when any field needs review or would be
    blocked (a moderator decides what happens to an account)."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return "missing"
    worst: tuple[Verdict, Scan] | None = None
    for name in [f for f in PROFILE_FIELDS if f in fields]:
        value = str(getattr(user, name, "") or "")
        if not value.strip():
            continue
        verdict, scan = text_scan(target_type="user", target_id=user.pk, field=name,
                                  content=value, author=None, language=user.language,
                                  trigger=Scan.Trigger.PROFILE)
        if worst is None or SEVERITY[verdict.outcome] > SEVERITY[worst[0].outcome]:
            worst = (verdict, scan)
    if worst is None:
        return Outcome.ALLOW
    verdict, scan = worst
    if verdict.outcome in (Outcome.BLOCK, Outcome.REVIEW):
        cases.open_case(target_type="user", target_id=user.pk, policy=verdict.policy,
                        evidence=_evidence(verdict, scan, field=scan.field),
                        reason=f"Automated detection flagged the {scan.field}.",
                        priority=1 if verdict.outcome == Outcome.BLOCK else 2)
    return verdict.outcome


# --- uploads: features -----------------------------------------------------------------------


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
    with _timed(timings, "pdq"):
        hashes = [pdq.hash_frame(path).as_json() for path in frames]
    fingerprint = b""
    audio_path = _audio_path(asset)
    if audio_path is not None:
        with _timed(timings, "audio_fingerprint"):
            fingerprint = audio.fingerprint(audio_path)
    features = {
        "frame_count": len(frames), "nudity": nude, "pdq": hashes,
        "audio_items": len(fingerprint) // 4,
        "versions": {"nudity": nudity.MODEL_VERSION, "pdq": pdq.MODEL_VERSION,
                     "audio": audio.MODEL_VERSION},
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
    signals = [Signal(Policy.NUDITY_SEXUAL, "nudity", float(nude.get("score", 0.0)))]
    with _timed(timings, "pdq_match"):
        matches = _pdq_matches(check.features, conf)
    with _timed(timings, "audio_match"):
        matches += _audio_matches(bytes(check.audio_fingerprint), conf)
    return signals, matches, timings


# --- uploads: the gate and the scan ----------------------------------------------------------


def _steps_ready(asset_id: int) -> tuple[bool, str]:
    """Whether the frames (and the audio, if the upload has any) are extracted, and a stamp
    of when they were (a rerun of a step changes it)."""
    steps = {s.name: s for s in ProcessingStep.objects.filter(asset_id=asset_id,
                                                              name__in=SCAN_STEPS)}
    frames = steps.get("frames")
    if frames is None or frames.state != ProcessingStep.State.DONE:
        return False, ""
    sound = steps.get("audio")
    if sound is not None and sound.state != ProcessingStep.State.DONE:
        return False, ""
    stamp = "|".join(f"{name}:{s.finished_at.isoformat() if s.finished_at else ''}"
                     for name, s in sorted(steps.items()))
    return True, stamp


def on_asset_step_done(*, asset_id: int, step: str) -> None:
    """Media's step-done hook (after commit): start the scan when its inputs are there."""
    if step not in SCAN_STEPS:
        return
    from apps.moderation.detection import tasks

    AssetCheck.objects.get_or_create(asset_id=asset_id)
    tasks.scan_asset.delay(asset_id)


def publish_gate(*, post_id: int, asset_id: int) -> bool:
    """Content's publish gate: hold (True) unless the upload's scan is done and the post's
    verdict (upload findings + caption, scanned here) is a plain allow. A post held with a
    verdict is settled right after the publishing transaction commits."""
    check = AssetCheck.objects.filter(asset_id=asset_id).first()
    if check is None or check.state != AssetCheck.State.DONE:
        # The scan may finish before this transaction commits and then not see the held
        # post; looking again after commit closes that gap (cheap when still waiting).
        transaction.on_commit(lambda: post_settle(post_id=post_id))
        return True
    post = Post.objects.select_related("author").filter(pk=post_id).first()
    if post is None:
        return True
    verdict, _ = _post_verdict(post, check, trigger=Scan.Trigger.PUBLISH)
    if verdict.outcome == Outcome.ALLOW:
        return False
    transaction.on_commit(lambda: post_settle(post_id=post_id))
    return True


def _post_verdict(post: Post, check: AssetCheck, *, trigger: str) -> tuple[Verdict, Scan]:
    """The upload's findings (minus an audio match on the sound the post licensed) with the
    caption's, weighed together; the caption scan is recorded."""
    licensed = str(post.sound_id) if post.sound_id and post.sound_id != post.original_sound_id \
        else None
    asset_matches = [m for m in _matches(check.matches)
                     if not (m.source.startswith("audio") and licensed is not None
                             and m.detail.get("sound_id") == licensed)]
    signals, matches, scores, timings = text_findings(
        content=post.caption, author=post.author, language=post.language, field="caption",
        exclude_post_id=post.pk)
    text_verdict = evaluate(signals, matches, _rules())
    scan = _record(target_type="post", target_id=post.pk, kind=Scan.Kind.TEXT,
                   trigger=trigger, verdict=text_verdict, scores=scores, matches=matches,
                   versions={"classifier": text.model_version()}, timings=timings,
                   field="caption", digest=_digest(post.caption))
    verdict = evaluate(_signals(check.signals) + signals, asset_matches + matches, _rules())
    return verdict, scan


def _apply_to_post(post: Post, verdict: Verdict, scan: Scan, check: AssetCheck) -> str:
    """Carry out a post's verdict. Only ever makes things stricter: a moderator undoes."""
    evidence = _evidence(verdict, scan, asset_id=str(check.asset_id),
                         asset_scan_id=str(check.last_scan_id) if check.last_scan_id else None)
    if verdict.outcome == Outcome.BLOCK:
        case = cases.open_case(target_type="post", target_id=post.pk, policy=verdict.policy,
                               evidence=evidence, priority=1,
                               reason="Blocked before publishing by automated detection.")
        cases.enforce(action="remove", target_type="post", target_id=post.pk,
                      policy=verdict.policy, reason="Removed by automated detection.",
                      case=case)
        return "removed"
    if verdict.outcome == Outcome.REVIEW:
        cases.open_case(target_type="post", target_id=post.pk, policy=verdict.policy,
                        evidence=evidence, reason="Held for review by automated detection.")
        return "review"
    for decision in verdict.decisions:
        if decision.outcome == Outcome.AGE_RESTRICT and not post.age_restricted:
            cases.enforce(action="age_restrict", target_type="post", target_id=post.pk,
                          policy=decision.policy, reason=f"Automated: {decision.why}")
            post.age_restricted = True
        elif decision.outcome == Outcome.LIMIT_REACH and not post.limited_reach:
            cases.enforce(action="limit_reach", target_type="post", target_id=post.pk,
                          policy=decision.policy, reason=f"Automated: {decision.why}")
            post.limited_reach = True
    if post.status == Post.Status.REVIEWING:
        content_services.post_release_from_review(post_id=post.pk)
        return "released"
    return verdict.outcome


def post_settle(*, post_id: int) -> str:
    """A post waiting in `reviewing`: apply its verdict once the upload's scan is done."""
    post = Post.objects.select_related("author").filter(pk=post_id).first()
    if post is None or post.status != Post.Status.REVIEWING:
        return "skipped"
    check = AssetCheck.objects.filter(asset_id=post.asset_id).first()
    if check is None or check.state != AssetCheck.State.DONE:
        return "waiting"
    verdict, scan = _post_verdict(post, check, trigger=Scan.Trigger.PUBLISH)
    return _apply_to_post(post, verdict, scan, check)


def _settle_reviewing(asset_id: int) -> dict[str, int]:
    done: dict[str, int] = {}
    for post_id in Post.objects.filter(asset_id=asset_id, status=Post.Status.REVIEWING) \
            .values_list("pk", flat=True):
        result = post_settle(post_id=post_id)
        done[result] = done.get(result, 0) + 1
    return done


def _store_verdict(check: AssetCheck, signals: list[Signal], matches: list[Match],
                   timings: dict[str, int], *, trigger: str) -> Verdict:
    verdict = evaluate(signals, matches, _rules())
    scan = _record(
        target_type="asset", target_id=check.asset_id, kind=Scan.Kind.MEDIA, trigger=trigger,
        verdict=verdict,
        scores={"nudity": check.features.get("nudity", {}),
                "frame_count": check.features.get("frame_count", 0),
                "audio_items": check.features.get("audio_items", 0),
                "pdq_quality": [f["quality"] for f in check.features.get("pdq", [])]},
        matches=matches, versions=check.features.get("versions", {}), timings=timings)
    check.signals = [_signal_json(s) for s in signals]
    check.matches = [_match_json(m) for m in matches]
    check.outcome, check.policy, check.decisions = verdict.outcome, verdict.policy, \
        verdict.as_json()
    check.last_scan = scan
    return verdict


def asset_scan(*, asset_id: int, trigger: str = Scan.Trigger.UPLOAD) -> str:
    """The upload's pre-publish scan (idempotent; a task calls it). Returns what happened."""
    ready, stamp = _steps_ready(asset_id)
    if not ready:
        return "waiting"
    check, _ = AssetCheck.objects.get_or_create(asset_id=asset_id)
    if check.state == AssetCheck.State.DONE and check.features.get("stamp") == stamp:
        return "current"
    claimed = AssetCheck.objects.filter(pk=check.pk).exclude(
        state=AssetCheck.State.RUNNING).update(state=AssetCheck.State.RUNNING,
                                               updated_at=timezone.now())
    if not claimed:
        return "running elsewhere"
    asset = MediaAsset.objects.get(pk=asset_id)
    try:
        features, fingerprint, timings = extract_features(asset)
    except BaseException:
        AssetCheck.objects.filter(pk=check.pk, state=AssetCheck.State.RUNNING).update(
            state=AssetCheck.State.PENDING, updated_at=timezone.now())
        raise
    with transaction.atomic():
        check = AssetCheck.objects.select_for_update().get(pk=check.pk)
        check.features = {**features, "stamp": stamp}
        check.audio_fingerprint = fingerprint
        signals, matches, match_timings = asset_findings(check)
        verdict = _store_verdict(check, signals, matches, {**timings, **match_timings},
                                 trigger=trigger)
        check.state, check.decided_at, check.last_error = AssetCheck.State.DONE, \
            timezone.now(), ""
        check.save()
    settled = _settle_reviewing(asset_id)
    logger.info("moderation.asset_scanned", extra={"asset_id": asset_id,
                                                   "outcome": verdict.outcome,
                                                   "settled": settled})
    return verdict.outcome


def asset_scan_failed(*, asset_id: int, error: str, final: bool) -> None:
    """A scan attempt crashed. Recorded; after the last retry the upload goes to people: a
    case for each post waiting on it (a moderator's approval releases the post)."""
    with transaction.atomic():
        check, _ = AssetCheck.objects.select_for_update().get_or_create(asset_id=asset_id)
        check.attempts += 1
        check.last_error = error[-2000:]
        Scan.objects.create(target_type="asset", target_id=asset_id, kind=Scan.Kind.MEDIA,
                            trigger=Scan.Trigger.UPLOAD, ok=False, error=error[-2000:])
        if final:
            check.state = AssetCheck.State.FAILED
            check.decided_at = timezone.now()
        check.save()
    if not final:
        return
    for post_id in Post.objects.filter(asset_id=asset_id, status=Post.Status.REVIEWING) \
            .values_list("pk", flat=True):
        cases.open_case(target_type="post", target_id=post_id, policy=Policy.OTHER,
                        evidence={"source": "detection", "scan_failed": error[-500:],
                                  "attempts": check.attempts, "asset_id": str(asset_id)},
                        reason="Automated checks could not run; review manually.", priority=1)


def asset_checks_clear(*, asset_id: int, reason: str) -> AssetCheck:
    """Mark an upload as checked and clean without scanning it (staff override, or rows a
    test arranges directly); posts waiting on it are settled after commit."""
    check, _ = AssetCheck.objects.update_or_create(
        asset_id=asset_id, defaults={
            "state": AssetCheck.State.DONE, "outcome": Outcome.ALLOW, "policy": "",
            "signals": [], "matches": [], "decisions": [], "manual_reason": reason[:200],
            "decided_at": timezone.now()})
    transaction.on_commit(lambda: _settle_reviewing(asset_id))
    return check


# --- re-scans --------------------------------------------------------------------------------


def rescan_schedule(*, reason: str) -> None:
    """A rule, list, claim or setting changed: re-evaluate every scanned upload (after this
    transaction commits, in batches on the worker)."""
    from apps.moderation.detection import tasks

    logger.info("moderation.rescan_scheduled", extra={"reason": reason})
    transaction.on_commit(lambda: tasks.rescan_assets.delay(0, reason))


def _post_rescan(post: Post, check: AssetCheck, *, asset_before: str) -> str:
    """Re-weigh a post after its upload's findings changed. Block and review act only when
    stricter than before (no second case for the same finding); flags are idempotent."""
    before = Scan.objects.filter(target_type="post", target_id=post.pk,
                                 field="caption").order_by("-id").first()
    verdict, scan = _post_verdict(post, check, trigger=Scan.Trigger.RESCAN)
    if post.status == Post.Status.REVIEWING:
        return _apply_to_post(post, verdict, scan, check)
    old = max(SEVERITY[asset_before or Outcome.ALLOW],
              SEVERITY[before.outcome] if before and before.outcome else 0)
    if SEVERITY[verdict.outcome] <= old and verdict.outcome in (Outcome.BLOCK, Outcome.REVIEW):
        return "unchanged"
    return _apply_to_post(post, verdict, scan, check)


def rescan_batch(*, after_id: int, batch_size: int = RESCAN_BATCH) -> int | None:
    """Re-evaluate up to `batch_size` scanned uploads after `after_id` (stored features, so
    no decoding). Returns the last id done, or None when there are no more."""
    ids = list(AssetCheck.objects.filter(pk__gt=after_id, state=AssetCheck.State.DONE)
               .exclude(features={}).order_by("pk").values_list("pk", flat=True)[:batch_size])
    for check_id in ids:
        with transaction.atomic():
            check = AssetCheck.objects.select_for_update().get(pk=check_id)
            before = check.outcome
            signals, matches, timings = asset_findings(check)
            _store_verdict(check, signals, matches, timings, trigger=Scan.Trigger.RESCAN)
            check.save()
        # each post too: its caption is weighed again under today's term lists and rules
        for post in Post.objects.select_related("author").filter(
                asset_id=check.asset_id,
                status__in=[Post.Status.PUBLISHED, Post.Status.REVIEWING]):
            _post_rescan(post, check, asset_before=before)
    return ids[-1] if len(ids) == batch_size else None


def checks_sweep() -> dict[str, int]:
    """Beat: a scan whose worker died (running too long) or whose start was missed (pending
    with its inputs ready) is queued again."""
    from apps.moderation.detection import tasks

    now = timezone.now()
    stale = AssetCheck.objects.filter(state=AssetCheck.State.RUNNING,
                                      updated_at__lt=now - RUNNING_STALE)
    revived = list(stale.values_list("asset_id", flat=True)[:500])
    stale.filter(asset_id__in=revived).update(state=AssetCheck.State.PENDING, updated_at=now)
    pending = list(AssetCheck.objects.filter(state=AssetCheck.State.PENDING,
                                             updated_at__lt=now - PENDING_STALE)
                   .values_list("asset_id", flat=True)[:500])
    queued = 0
    for asset_id in {*revived, *pending}:
        if _steps_ready(asset_id)[0]:
            tasks.scan_asset.delay(asset_id)
            queued += 1
    return {"revived": len(revived), "queued": queued}


# --- hash lists ------------------------------------------------------------------------------


def hash_list_import(*, name: str, policy: str, rows: list[tuple[str, str]],
                     max_distance: int | None = None) -> tuple[HashList, int, list[str]]:
    """Add (hex PDQ, note) rows to a list (created if new). Returns the list, how many rows
    were new, and the errors of rejected lines. Schedules a re-scan when anything changed."""
    if not re.fullmatch(r"[-a-zA-Z0-9_]{1,64}", name):
        raise ValueError("a list name is 1-64 letters, digits, hyphens and underscores")
    if policy not in Policy.values:
        raise ValueError(f"unknown policy {policy!r}; one of {', '.join(Policy.values)}")
    errors: list[str] = []
    entries: dict[str, str] = {}
    for number, (value, note) in enumerate(rows, start=1):
        try:
            entries.setdefault(pdq.parse_hex(value).hex(), note[:200])
        except ValueError as exc:
            errors.append(f"line {number}: {exc}")
    with transaction.atomic():
        hash_list, created = HashList.objects.get_or_create(
            name=name, defaults={"policy": policy,
                                 **({"max_distance": max_distance} if max_distance else {})})
        if not created and (hash_list.policy != policy
                            or (max_distance and hash_list.max_distance != max_distance)):
            hash_list.policy = policy
            hash_list.max_distance = max_distance or hash_list.max_distance
            hash_list.save(update_fields=["policy", "max_distance", "updated_at"])
        before = HashEntry.objects.filter(hash_list=hash_list).count()
        ids = allocate_ids(len(entries))
        HashEntry.objects.bulk_create(
            [HashEntry(id=i, hash_list=hash_list, pdq=h, note=n)
             for i, (h, n) in zip(ids, entries.items(), strict=True)],
            ignore_conflicts=True, batch_size=2000)
        added = HashEntry.objects.filter(hash_list=hash_list).count() - before
        if added or created:
            rescan_schedule(reason=f"hash list {name}: {added} new")
    return hash_list, added, errors
