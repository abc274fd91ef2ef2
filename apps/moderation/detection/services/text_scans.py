"""Text scans: captions, comments and profiles (terms, spam signals), recorded as scans."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Func, IntegerField, QuerySet, Subquery, Value
from django.utils import timezone

from apps.accounts.models import User
from apps.comments.models import Comment
from apps.content.models import Post
from apps.moderation.detection import cases, heads, links, text
from apps.moderation.detection.engine import Match, Signal, Verdict, evaluate, rule_for
from apps.moderation.detection.models import SEVERITY, DetectionSettings, Outcome, Scan
from apps.moderation.detection.services import (
    campaigns,
    chat_campaigns,
    refusals,
    support,
    text_heads,
)
from apps.moderation.detection.services.config import (
    _digest,
    _match_json,
    _rules,
    _term_lists,
    _timed,
    detection_settings,
)
from apps.moderation.detection.services.text_config import TextConfig
from apps.moderation.policies import Policy


def _spam_signal(*, author: User | None, content: str, exclude_post_id: int | None,
                 exclude_comment_id: int | None, conf: DetectionSettings) -> dict[str, Any]:
    """Link spam, the same text repeated across the author's recent posts and comments, and
    a new account posting fast. Combined as independent evidence (noisy-OR)."""
    link_score = text.link_spam_score(content)
    repeats = 0
    velocity = 0.0
    refused = 0
    if author is not None:
        mine = text.normalised_for_repeats(content)
        new = _is_new(author, conf)
        read = _author_reads(author, conf=conf, texts=bool(mine), counts=new,
                             exclude_post_id=exclude_post_id,
                             exclude_comment_id=exclude_comment_id)
        if mine:
            repeats = sum(1 for other in [*read["posts"], *read["comments"]]
                          if text.normalised_for_repeats(other) == mine)
        if new:
            recent = read["posts_hour"] + read["comments_hour"]
            limit = max(1, conf.new_account_max_items_per_hour)
            velocity = min(1.0, (recent - limit) / (2 * limit)) if recent > limit else 0.0
        refused = read["refusals"]
    repeat_score = min(1.0, repeats / 3)
    # A new account signed up with a throw-away address: a risk signal (0.3), never a ban
    # on its own (the spam rule limits from 0.6): it only weighs with links or repeats.
    disposable = bool(author is not None and _is_new(author, conf)
                      and text.disposable_email(author.email))
    # Texts of theirs refused lately (direct messages, chat lines) count toward the risk.
    refused_weight = refusals.refusal_weight(refused)
    combined = 1 - ((1 - link_score) * (1 - repeat_score) * (1 - velocity)
                    * (1 - DISPOSABLE_WEIGHT * disposable) * (1 - refused_weight))
    return {"score": round(combined, 4), "links": round(link_score, 4),
            "link_count": len(text.links(content)), "repeats": repeats,
            "repeat_score": round(repeat_score, 4), "velocity": round(velocity, 4),
            "disposable_email": disposable, "refusals": refused}


def _author_reads(author: User, *, conf: DetectionSettings, texts: bool, counts: bool,
                  exclude_post_id: int | None, exclude_comment_id: int | None
                  ) -> dict[str, Any]:
    """What the spam signal reads of the author, in one statement (it was five, on every
    direct message's and chat line's check): their recent captions and comment texts (when
    the text is long enough to compare), their posts and comments of the last hour (a new
    account), their texts refused lately."""
    now = timezone.now()
    since = now - timedelta(hours=conf.spam_window_hours)
    hour = now - timedelta(hours=1)
    # (names of their own: `posts` and `comments` are the user's reverse relations)
    columns: dict[str, Any] = {"spam_refusals": _count(refusals.recent_refusal_rows(
        user_id=author.pk, now=now))}
    if texts:
        columns["spam_posts"] = ArraySubquery(
            Post.objects.filter(author_id=author.pk, created_at__gte=since)
            .exclude(pk=exclude_post_id or 0).order_by("-id").values("caption")[:200])
        columns["spam_comments"] = ArraySubquery(
            Comment.objects.filter(author_id=author.pk, created_at__gte=since)
            .exclude(pk=exclude_comment_id or 0).order_by("-id").values("text")[:200])
    if counts:
        columns["spam_posts_hour"] = _count(Post.objects.filter(author_id=author.pk,
                                                                created_at__gte=hour))
        columns["spam_comments_hour"] = _count(Comment.objects.filter(author_id=author.pk,
                                                                      created_at__gte=hour))
    # any one row carries the subqueries: the author's own (present: they are writing)
    found = User.objects.filter(pk=author.pk).values(**columns).first() or {}
    empty: dict[str, Any] = {"posts": [], "comments": [], "posts_hour": 0, "comments_hour": 0,
                             "refusals": 0}
    return {name: found.get(f"spam_{name}", default) for name, default in empty.items()}


def _count(rows: QuerySet[Any]) -> Subquery:
    """COUNT(*) of `rows` as a scalar subquery column."""
    return Subquery(rows.order_by().annotate(n=Func(Value(1), function="COUNT"))
                    .values("n")[:1], output_field=IntegerField())


DISPOSABLE_WEIGHT = 0.3


def _is_new(author: User, conf: DetectionSettings) -> bool:
    return timezone.now() - author.date_joined < timedelta(hours=conf.new_account_hours)


def text_findings(*, content: str, author: User | None, language: str, field: str,
                  exclude_post_id: int | None = None, exclude_comment_id: int | None = None,
                  classify: bool = True, abuse_known: float | None = None,
                  heads_known: dict[str, float] | None = None,
                  config: TextConfig | None = None,
                  ) -> tuple[list[Signal], list[Match], dict[str, Any], dict[str, int]]:
    """Signals and matches of one text, with the raw scores and timings for the record.
    `classify=False` leaves out the abuse classifier (the costly part, ~10 ms) for a
    caller none of whose outcomes it could reach; `abuse_known` is its score of this very
    text when the caller computed it already (live chat scores its posts in batches with
    `text.abuse_scores`); `heads_known` likewise the text heads' scores of this text
    (`heads.text_scores_many`). `config`: the staff's configuration kept per process
    (`text_config.text_config()`, live chat); without it the rows are read now."""
    conf = config.settings if config is not None else detection_settings()
    timings: dict[str, int] = {}
    scores: dict[str, Any] = {"length": len(content)}
    abuse = 0.0
    if classify:
        with _timed(timings, "classifier"):
            abuse = text.abuse_score(content) if abuse_known is None else abuse_known
    scores["abuse"] = abuse if classify else None
    with _timed(timings, "terms"):
        if config is not None:
            parsed = [(row, list(terms)) for row, terms in config.term_lists(language)]
        else:
            parsed = [(row, text.parse_terms(row.terms)) for row in _term_lists(language)]
        by_id = {row.pk: row for row, _ in parsed}
        hits = text.term_hits(content, [(row.pk, terms) for row, terms in parsed],
                              substring=field == "username")
    with _timed(timings, "spam"):
        spam = _spam_signal(author=author, content=content, exclude_post_id=exclude_post_id,
                            exclude_comment_id=exclude_comment_id, conf=conf)
    scores["spam"] = spam
    # The multilingual heads always run (~20 ms of CPU): they are what sees harm in the
    # languages the English classifier cannot read, and a minor's safety in DMs.
    with _timed(timings, "heads"):
        head_signals, head_scores = text_heads.head_findings(
            content, field=field, scores=heads_known,
            table=config.thresholds if config is not None else None)
    if head_scores:
        scores["heads"] = head_scores
    with _timed(timings, "links"):
        link_signals, link_scores = text_heads.link_findings(
            content, field=field, table=config.thresholds if config is not None else None)
    if link_scores:
        scores["link_risk"] = link_scores
    # A cry for help is answered with support resources, never punished (`support`).
    if author is not None and support.support_offer_send(
            user_id=author.pk, language=language, head_scores=head_scores) is not None:
        scores["support_offered"] = True
    signals = [Signal(Policy.HATE_HARASSMENT, "abuse_classifier", abuse)] if classify else []
    signals.append(Signal(Policy.SPAM_SCAM, "spam", spam["score"]))
    signals += head_signals
    signals += link_signals
    matches = [Match(by_id[hit.list_id].policy, "terms", by_id[hit.list_id].outcome,
                     {"list": by_id[hit.list_id].name, "list_id": str(hit.list_id),
                      "language": by_id[hit.list_id].language, "term": hit.term})
               for hit in hits]
    return signals, matches, scores, timings


def text_verdict(*, content: str, author: User | None, language: str, field: str,
                 classifier_from: str | None = None, abuse_known: float | None = None,
                 heads_known: dict[str, float] | None = None,
                 config: TextConfig | None = None) -> Verdict:
    """The engine's verdict on a text that is not stored yet, with nothing recorded (a direct
    message is checked before it is sent: messaging's policy refuses from some outcome up).
    With `classifier_from`, the abuse classifier runs only if its policy's rule could reach
    that outcome (it is the costly part; the term lists and spam signals always run).
    `abuse_known`, `heads_known`, `config`: see `text_findings`."""
    rules = config.rules if config is not None else _rules()
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
        content=content, author=author, language=language, field=field, classify=classify,
        abuse_known=abuse_known, heads_known=heads_known, config=config)
    if author is not None:  # DMs and chat lines feed the copy-paste campaign detector
        chat_campaigns.text_seen(author_id=author.pk, field=field, content=content)
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
                   versions=text_versions(), timings=timings,
                   field=field, digest=_digest(content))
    return verdict, scan


def text_versions() -> dict[str, str]:
    """What read a text: the English classifier, and the heads (embedding model and the
    labelled data's digest) when their artefact exists."""
    versions = {"classifier": text.model_version(), "links": links.model_version()}
    trained = heads.load_heads()
    if trained is not None:
        versions["heads"] = f"{trained.meta.get('embedding')}/{trained.meta.get('data')}"
    return versions


def _evidence(verdict: Verdict, scan: Scan | None, *, content: str = "", language: str = "",
              **extra: Any) -> dict[str, Any]:
    """A case's automated entry. With the scanned text, the heads' flagged categories and the
    text itself, so the moderator's decision becomes a training label."""
    head_scores = (scan.scores.get("heads") if scan is not None else None) or {}
    return {
        "source": "detection", "scan_id": str(scan.pk) if scan else None,
        "outcome": verdict.outcome,
        "decisions": [d for d in verdict.as_json() if d["outcome"] != Outcome.ALLOW],
        **(text_heads.evidence_extra(content, language, head_scores) if content else {}),
        **extra,
    }


def comment_scan(*, comment_id: int) -> str:
    """A new comment: removed when the engine blocks it, a case when it needs review."""
    comment = Comment.objects.select_related("author", "post").filter(pk=comment_id).first()
    if comment is None:
        return "missing"
    language = comment.post.language or comment.author.language
    verdict, scan = text_scan(
        target_type="comment", target_id=comment.pk, field="text", content=comment.text,
        author=comment.author, language=language,
        trigger=Scan.Trigger.COMMENT, exclude_comment_id=comment.pk)
    evidence = _evidence(verdict, scan, content=comment.text, language=language)
    campaigns.text_fingerprint_record(author_id=comment.author_id, surface="comment",
                                      target_type="comment", target_id=comment.pk,
                                      content=comment.text)
    if verdict.outcome == Outcome.BLOCK:
        case = cases.open_case(target_type="comment", target_id=comment.pk,
                               policy=verdict.policy, evidence=evidence,
                               reason="Automated detection blocked this comment.", priority=1)
        cases.enforce(action="remove", target_type="comment", target_id=comment.pk,
                      policy=verdict.policy, reason="Removed by automated detection.",
                      case=case)
    elif verdict.outcome == Outcome.REVIEW:
        cases.open_case(target_type="comment", target_id=comment.pk, policy=verdict.policy,
                        evidence=evidence,
                        reason="Automated detection flagged this comment.")
    return verdict.outcome


PROFILE_FIELDS = ("username", "display_name", "bio")


def profile_scan(*, user_id: int, fields: list[str]) -> str:
    """Changed profile text: a case on the account when any field needs review or would be
    blocked (a moderator decides what happens to an account)."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return "missing"
    worst: tuple[Verdict, Scan, str] | None = None
    for name in [f for f in PROFILE_FIELDS if f in fields]:
        value = str(getattr(user, name, "") or "")
        if not value.strip():
            continue
        verdict, scan = text_scan(target_type="user", target_id=user.pk, field=name,
                                  content=value, author=None, language=user.language,
                                  trigger=Scan.Trigger.PROFILE)
        support.support_offer_send(user_id=user.pk, language=user.language,
                                   head_scores=scan.scores.get("heads"))
        if name == "bio":
            campaigns.text_fingerprint_record(author_id=user.pk, surface="profile",
                                              target_type="user", target_id=user.pk,
                                              content=value)
        if worst is None or SEVERITY[verdict.outcome] > SEVERITY[worst[0].outcome]:
            worst = (verdict, scan, value)
    if worst is None:
        return Outcome.ALLOW
    verdict, scan, value = worst
    if verdict.outcome in (Outcome.BLOCK, Outcome.REVIEW):
        cases.open_case(target_type="user", target_id=user.pk, policy=verdict.policy,
                        evidence=_evidence(verdict, scan, content=value,
                                           language=user.language, field=scan.field),
                        reason=f"Automated detection flagged the {scan.field}.",
                        priority=1 if verdict.outcome == Outcome.BLOCK else 2)
    return verdict.outcome
