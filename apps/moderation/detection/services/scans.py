"""Uploads: the publish gate, the scan, and settling the posts waiting in review."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from apps.content import services as content_services
from apps.content.models import Post
from apps.core.audit import Actor, record_audit
from apps.core.outbox import enqueue_on_commit
from apps.media.models import MediaAsset, ProcessingStep
from apps.moderation.detection import cases
from apps.moderation.detection.engine import Match, Signal, Verdict, evaluate
from apps.moderation.detection.models import AssetCheck, Outcome, Scan
from apps.moderation.detection.outcome_hooks import run_asset_checked_hooks
from apps.moderation.detection.services import campaigns, image_signals, ocr_signals
from apps.moderation.detection.services._common import SCAN_STEPS
from apps.moderation.detection.services.config import (
    _digest,
    _match_json,
    _matches,
    _rules,
    _signal_json,
    _signals,
)
from apps.moderation.detection.services.matching import asset_findings, extract_features
from apps.moderation.detection.services.text_scans import (
    _evidence,
    _record,
    text_findings,
    text_versions,
)
from apps.moderation.policies import Policy

logger = logging.getLogger(__name__)

_ASSET = MediaAsset._meta.model_name or "mediaasset"  # the audit trail's target type


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
                   versions=text_versions(), timings=timings,
                   field="caption", digest=_digest(post.caption))
    verdict = evaluate(_signals(check.signals) + signals, asset_matches + matches, _rules())
    return verdict, scan


def _apply_to_post(post: Post, verdict: Verdict, scan: Scan, check: AssetCheck) -> str:
    """Carry out a post's verdict. Only ever makes things stricter: a moderator undoes."""
    campaigns.text_fingerprint_record(author_id=post.author_id, surface="caption",
                                      target_type="post", target_id=post.pk,
                                      content=post.caption)
    minor = image_signals.is_possible_minor(verdict.as_json())
    evidence = _evidence(verdict, scan, content=post.caption, language=post.language,
                         asset_id=str(check.asset_id),
                         asset_scan_id=str(check.last_scan_id) if check.last_scan_id else None,
                         **image_signals.image_evidence(check.features),
                         **ocr_signals.ocr_evidence(check.features),
                         **({"label": image_signals.POSSIBLE_MINOR_LABEL} if minor else {}))
    if verdict.outcome == Outcome.BLOCK:
        case = cases.open_case(target_type="post", target_id=post.pk, policy=verdict.policy,
                               evidence=evidence, priority=1,
                               reason="Blocked before publishing by automated detection.")
        cases.enforce(action="remove", target_type="post", target_id=post.pk,
                      policy=verdict.policy, reason="Removed by automated detection.",
                      case=case)
        return "removed"
    if verdict.outcome == Outcome.REVIEW:
        cases.open_case(
            target_type="post", target_id=post.pk, policy=verdict.policy, evidence=evidence,
            reason=(f"{image_signals.POSSIBLE_MINOR_LABEL}: a face in a frame with sensitive "
                    "content. Held for a moderator to decide (no automatic age decision)."
                    if minor else "Held for review by automated detection."))
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
                **image_signals.image_evidence(check.features),
                **ocr_signals.ocr_evidence(check.features),
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
        # self-harm read on screen: support resources for the uploader (once a day)
        ocr_signals.ocr_support_offer(check.features, asset_id=asset_id)
        verdict = _store_verdict(check, signals, matches, {**timings, **match_timings},
                                 trigger=trigger)
        check.state, check.decided_at, check.last_error = AssetCheck.State.DONE, \
            timezone.now(), ""
        check.save()
    settled = _settle_reviewing(asset_id)
    run_asset_checked_hooks(asset_id=asset_id)  # e.g. a direct message waiting on it
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
    run_asset_checked_hooks(asset_id=asset_id)
    for post_id in Post.objects.filter(asset_id=asset_id, status=Post.Status.REVIEWING) \
            .values_list("pk", flat=True):
        cases.open_case(target_type="post", target_id=post_id, policy=Policy.OTHER,
                        evidence={"source": "detection", "scan_failed": error[-500:],
                                  "attempts": check.attempts, "asset_id": str(asset_id)},
                        reason="Automated checks could not run; review manually.", priority=1)


def asset_checks_clear(*, asset_id: int, reason: str, actor: Actor = None,
                       ip: str | None = None) -> AssetCheck:
    """Mark an upload as checked and clean without scanning it (staff override, recorded in
    the audit trail; or rows a test arranges directly); posts waiting on it are settled
    after commit."""
    with transaction.atomic():
        check, _ = AssetCheck.objects.update_or_create(
            asset_id=asset_id, defaults={
                "state": AssetCheck.State.DONE, "outcome": Outcome.ALLOW, "policy": "",
                "signals": [], "matches": [], "decisions": [], "manual_reason": reason[:200],
                "decided_at": timezone.now()})
        record_audit(actor=actor, action="moderation_detection.asset_clear",
                     target=(_ASSET, asset_id), reason=reason, ip=ip)
        transaction.on_commit(lambda: _settle_reviewing(asset_id))
        transaction.on_commit(lambda: run_asset_checked_hooks(asset_id=asset_id))
    return check


def asset_checks_rescan(*, asset_ids: Iterable[int], actor: Actor = None, reason: str = "",
                        ip: str | None = None) -> int:
    """Staff: scan uploads again from scratch (their stored features are dropped, so they
    are extracted afresh); one audit row each. Returns how many were queued."""
    from apps.moderation.detection import tasks

    ids = list(asset_ids)
    with transaction.atomic():
        AssetCheck.objects.filter(asset_id__in=ids).update(features={})
        for asset_id in ids:
            record_audit(actor=actor, action="moderation_detection.asset_rescan",
                         target=(_ASSET, asset_id), reason=reason, ip=ip)
            enqueue_on_commit(tasks.scan_asset, asset_id, "rescan")  # kept if the broker is down
    return len(ids)
