"""Text scans: captions, comments and profiles (terms, spam signals), recorded as scans."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.content.models import Post
from apps.moderation.detection import cases, text
from apps.moderation.detection.engine import Match, Signal, Verdict, evaluate, rule_for
from apps.moderation.detection.models import SEVERITY, DetectionSettings, Outcome, Scan
from apps.moderation.detection.services.config import (
    _digest,
    _match_json,
    _rules,
    _term_lists,
    _timed,
    detection_settings,
)
from apps.moderation.policies import Policy


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
                  classify: bool = True,
                  ) -> tuple[list[Signal], list[Match], dict[str, Any], dict[str, int]]:
    """Signals and matches of one text, with the raw scores and timings for the record.
    `classify=False` leaves out the abuse classifier (the costly part, ~10 ms) for a
    caller none of whose outcomes it could reach."""
    conf = detection_settings()
    timings: dict[str, int] = {}
    scores: dict[str, Any] = {"length": len(content)}
    abuse = 0.0
    if classify:
        with _timed(timings, "classifier"):
            abuse = text.abuse_score(content)
    scores["abuse"] = abuse if classify else None
    with _timed(timings, "terms"):
        lists = _term_lists(language)
        by_id = {row.pk: row for row in lists}
        hits = text.term_hits(content, [(row.pk, text.parse_terms(row.terms)) for row in lists],
                              substring=field == "username")
    with _timed(timings, "spam"):
        spam = _spam_signal(author=author, content=content, exclude_post_id=exclude_post_id,
                            exclude_comment_id=exclude_comment_id, conf=conf)
    scores["spam"] = spam
    signals = [Signal(Policy.HATE_HARASSMENT, "abuse_classifier", abuse)] if classify else []
    signals.append(Signal(Policy.SPAM_SCAM, "spam", spam["score"]))
    matches = [Match(by_id[hit.list_id].policy, "terms", by_id[hit.list_id].outcome,
                     {"list": by_id[hit.list_id].name, "list_id": str(hit.list_id),
                      "language": by_id[hit.list_id].language, "term": hit.term})
               for hit in hits]
    return signals, matches, scores, timings


def text_verdict(*, content: str, author: User | None, language: str, field: str,
                 classifier_from: str | None = None) -> Verdict:
    """The engine's verdict on a text that is not stored yet, with nothing recorded (a direct
    message is checked before it is sent: messaging's policy refuses from some outcome up).
    With `classifier_from`, the abuse classifier runs only if its policy's rule could reach
    that outcome (it is the costly part; the term lists and spam signals always run)."""
    rules = _rules()
    classify = True
    if classifier_from is not None:
        rule = rule_for(Policy.HATE_HARASSMENT, rules)
        reachable = [threshold for outcome, threshold in (
            (Outcome.BLOCK, rule.block_at), (Outcome.REVIEW, rule.review_at),
            (Outcome.AGE_RESTRICT, rule.age_restrict_at),
            (Outcome.LIMIT_REACH, rule.limit_reach_at))
            if SEVERITY[outcome] >= SEVERITY[classifier_from]]
        classify = rule.is_active and any(t is not None for t in reachable)
    signals, matches, _scores, _timings = text_findings(
        content=content, author=author, language=language, field=field, classify=classify)
    return evaluate(signals, matches, rules)


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
