"""Moderation reads: what a reporter may report, a person's reports and notices, the queues
and everything a moderator's review page shows, and the dashboard's figures."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import (
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
)
from django.utils import timezone

from apps.accounts.models import User
from apps.comments import selectors as comment_selectors
from apps.comments.models import Comment
from apps.content import selectors as content_selectors
from apps.content.models import Post, Sound
from apps.core.errors import ApplicationError, NotFoundError
from apps.media.playback import playback_for
from apps.moderation import conf
from apps.moderation.live_hooks import LivePreview, live_preview
from apps.moderation.models import (
    Appeal,
    AuditEvent,
    Case,
    EnforcementAction,
    LiveChatEvidence,
    LiveEvidence,
    MessageEvidence,
    Notice,
    Queue,
    Report,
    Standing,
    Strike,
    TargetType,
)
from apps.moderation.policies import SEVERE_POLICIES, Policy
from apps.social.models import Block
from apps.social.selectors import discoverable_q

USER_NOT_FOUND = "User not found."


def check_reportable(*, viewer: User, target_type: str, target_id: int) -> None:
    """The reporter must be able to see what they report (content's and comments' own
    visibility rules); otherwise it does not exist for them (NotFoundError)."""
    if target_type == TargetType.POST:
        content_selectors.get_post_for(viewer=viewer, post_id=target_id)
    elif target_type == TargetType.COMMENT:
        comment_selectors.get_comment_for(viewer, comment_id=target_id)
    elif target_type == TargetType.SOUND:
        content_selectors.get_sound_for(viewer=viewer, sound_id=target_id)
    elif target_type == TargetType.USER:
        blocked_me = Exists(Block.objects.filter(blocker_id=OuterRef("pk"),
                                                 blocked_id=viewer.pk))
        if not User.objects.filter(discoverable_q(), pk=target_id).exclude(
                blocked_me).exists():
            raise NotFoundError(USER_NOT_FOUND)
    elif target_type == TargetType.MESSAGE:
        raise ApplicationError("Report a message from its conversation "
                               "(POST /api/v1/conversations/<id>/report).",
                               code="invalid_target_type")
    elif target_type in (TargetType.LIVE, TargetType.LIVE_MESSAGE):
        raise ApplicationError("Report a live or its chat from the live "
                               "(POST /api/v1/live/<id>/report).",
                               code="invalid_target_type")
    else:
        raise ApplicationError("Unknown target type.", code="invalid_target_type")


def reports_for(user: User) -> QuerySet[Report]:
    return Report.objects.filter(reporter=user).order_by("-id")


def notices_for(user: User) -> QuerySet[Notice]:
    return (Notice.objects.filter(user=user).select_related("action")
            .annotate(appealed=Exists(Appeal.objects.filter(action_id=OuterRef("action_id"))))
            .order_by("-id"))


def notice_can_appeal(notice: Notice, *, now: datetime | None = None) -> bool:
    """The decision a notice tells of may still be appealed: appealable, inside its window,
    not appealed yet (`notices_for` annotates `appealed`) and not reversed since."""
    return bool(notice.action_id and notice.appealable_until
                and notice.appealable_until > (now or timezone.now())
                and not getattr(notice, "appealed", False)
                and notice.action is not None and notice.action.reversed_at is None)


_NOUNS = {TargetType.POST: "Video", TargetType.COMMENT: "Comment", TargetType.SOUND: "Sound",
          TargetType.USER: "Account", TargetType.MESSAGE: "Message", TargetType.LIVE: "Live",
          TargetType.LIVE_MESSAGE: "Live chat message"}


@dataclass(frozen=True)
class NoticeLine:
    """One notice as the person concerned reads it (the web's notices page)."""

    notice: Notice
    what: str  # "Video", "Comment", "Sound", "Account"
    post_id: int | None  # the video concerned, when there is one (it stays visible to them)
    rule: str  # the policy's name ("" when none)
    decision: str  # "Removed", "Strike 2 of 4", "Suspended until 12 December 2026", …
    appeal: Appeal | None
    can_appeal: bool


def notice_lines_for(user: User, notices: list[Notice]) -> list[NoticeLine]:
    """The page's rows for `notices` (from `notices_for`): what, the rule, the decision, and
    the appeal's state. Two queries however many notices (appeals, strikes)."""
    action_ids = {n.action_id for n in notices if n.action_id}
    appeals = {a.action_id: a for a in Appeal.objects.filter(action_id__in=action_ids)}
    strikes = list(Strike.objects.filter(user=user).order_by("id")
                   .values_list("action_id", "created_at", "expires_at", "removed_at"))
    ban_at = max((n for n, c in conf.strike_thresholds().items() if c == "ban"), default=None)
    now = timezone.now()
    lines = []
    for notice in notices:
        what, post_id = _what(notice.action)
        lines.append(NoticeLine(
            notice=notice, what=what, post_id=post_id,
            rule=Policy(notice.policy).label if notice.policy in Policy.values else "",
            decision=_decision(notice, strikes, ban_at),
            appeal=appeals.get(notice.action_id) if notice.action_id else None,
            can_appeal=notice_can_appeal(notice, now=now)))
    return lines


def _what(action: EnforcementAction | None) -> tuple[str, int | None]:
    """What a decision concerns, and the video when there is one. An account action (a
    strike) names what it was given for."""
    if action is None:
        return "Account", None
    kind, target = action.target_type, action.target_id
    if kind == TargetType.USER:
        cause = action.detail.get("for") if isinstance(action.detail, dict) else None
        if not cause or cause.get("type") not in _NOUNS or cause["type"] == TargetType.USER:
            return "Account", None
        kind, target = cause["type"], int(cause["id"])
        return (f"Account (for a {_NOUNS[TargetType(kind)].lower()})",
                target if kind == TargetType.POST else None)
    return _NOUNS.get(TargetType(kind), "Content"), target if kind == TargetType.POST else None


def _decision(notice: Notice, strikes: list[tuple[Any, datetime, datetime, datetime | None]],
              ban_at: int | None) -> str:
    action = notice.action
    kind = notice.kind
    if kind == "appeal_granted":
        return "Appeal granted: reversed"
    if kind == "appeal_rejected":
        return "Appeal reviewed: decision upheld"
    if kind == "feature_limit":
        return "Features limited: new posts are reviewed first"
    if action is None:
        return notice.title
    if action.action == EnforcementAction.Action.STRIKE:
        mine = next((s for s in strikes if s[0] == action.pk), None)
        if mine is None or mine[3] is not None or action.reversed_at is not None:
            return "Strike (removed)"
        given = mine[1]
        # strikes in force when this one was given, this one included
        number = sum(1 for s in strikes if s[1] <= given and s[2] > given
                     and (s[3] is None or s[3] > given))
        of = f" of {ban_at}" if ban_at else ""
        ends = "expired" if mine[2] <= timezone.now() else "expires"
        return f"Strike {number}{of} ({ends} {mine[2]:%-d %B %Y})"
    if action.action == EnforcementAction.Action.SUSPEND:
        return (f"Account suspended until {action.expires_at:%-d %B %Y}"
                if action.expires_at else "Account suspended")
    return {
        EnforcementAction.Action.REMOVE: "Removed",
        EnforcementAction.Action.AGE_RESTRICT: "Restricted: not shown to under-18s",
        EnforcementAction.Action.LIMIT_REACH: "Restricted: not recommended",
        EnforcementAction.Action.DISABLE_COMMENTS: "Restricted: comments turned off",
        EnforcementAction.Action.SEARCH_BAN: "Restricted: hidden from search",
        EnforcementAction.Action.BAN: "Account banned",
        EnforcementAction.Action.RESTORE: "Restored",
        EnforcementAction.Action.END_LIVE: "Live ended",
        EnforcementAction.Action.KEY_BAN: (f"Stream key banned until {action.expires_at:%-d %B %Y}"
                                           if action.expires_at else "Stream key banned"),
    }.get(EnforcementAction.Action(action.action), notice.title)


def removals_of(*, target_type: str, target_ids: Iterable[int]) -> dict[int, EnforcementAction]:
    """The removal in force on each target (the latest unreversed one), for telling its
    owner why it was removed; targets moderation did not remove are left out. One query."""
    rows = EnforcementAction.objects.filter(
        action=EnforcementAction.Action.REMOVE, target_type=target_type,
        target_id__in=list(target_ids), reversed_at__isnull=True).order_by("target_id", "-id")
    found: dict[int, EnforcementAction] = {}
    for row in rows:
        found.setdefault(row.target_id, row)
    return found


def appeal_of(action: EnforcementAction) -> Appeal | None:
    return Appeal.objects.filter(action=action).first()


def search_banned_q(target_type: str, ref: str = "pk") -> Q:
    """Rows under a search ban in force (`enforce(action="search_ban")`, not reversed):
    for `TargetType.USER`, accounts whose id is at `ref`; for `TargetType.POST`, posts
    whose id is at `ref` and posts by a search-banned account (`ref` "pk" or
    "<prefix>pk"). Search excludes these at query time; nothing else hides them."""
    live = EnforcementAction.objects.filter(action=EnforcementAction.Action.SEARCH_BAN,
                                            reversed_at__isnull=True)
    rule = Q(Exists(live.filter(target_type=target_type, target_id=OuterRef(ref))))
    if target_type == TargetType.POST:
        author = ref.removesuffix("pk") + "author_id"
        rule |= Q(Exists(live.filter(target_type=TargetType.USER, target_id=OuterRef(author))))
    return rule


def account_block_for(user_id: int, *, now: datetime | None = None) -> EnforcementAction | None:
    """The ban, or else the latest suspension, in force on an account (what the log-in
    refusal page explains); None when nothing of moderation's keeps it out."""
    live = EnforcementAction.objects.filter(
        subject_id=user_id, reversed_at__isnull=True, target_type=TargetType.USER,
    ).select_related("subject")
    return (live.filter(action=EnforcementAction.Action.BAN).order_by("-id").first()
            or live.filter(action=EnforcementAction.Action.SUSPEND,
                           expires_at__gt=now or timezone.now()).order_by("-id").first())


def live_key_ban_for(user_id: int, *, now: datetime | None = None) -> EnforcementAction | None:
    """The stream-key ban in force on an account (`enforce(action="key_ban")`, not reversed,
    not expired): while there is one, live's eligibility refuses a new key and going live."""
    return (EnforcementAction.objects.filter(
        action=EnforcementAction.Action.KEY_BAN, subject_id=user_id, reversed_at__isnull=True,
        expires_at__gt=now or timezone.now()).order_by("-expires_at").first())


def has_active_severe_strike(user_id: int, *, now: datetime | None = None) -> bool:
    """A strike under a severe policy (`policies.SEVERE_POLICIES`), not expired or removed."""
    return Strike.objects.filter(user_id=user_id, removed_at__isnull=True,
                                 expires_at__gt=now or timezone.now(),
                                 policy__in=SEVERE_POLICIES).exists()


# --- queues ----------------------------------------------------------------------------------


def visible_queues(user: User) -> list[str]:
    return [q for q in Queue.values if user.is_active and user.is_staff
            and user.has_perm(f"moderation.work_queue_{q}")]


def queue_counts(user: User, *, now: datetime | None = None) -> list[dict[str, Any]]:
    """Open cases per queue the moderator may work: total, overdue, unclaimed."""
    now = now or timezone.now()
    rows = (Case.objects.filter(status=Case.Status.OPEN, queue__in=visible_queues(user))
            .values("queue")
            .annotate(open=Count("id"),
                      overdue=Count("id", filter=Q(sla_due_at__lt=now)),
                      unclaimed=Count("id", filter=Q(assigned_to__isnull=True)
                                      | Q(claim_expires_at__lte=now))))
    by_queue: dict[str, dict[str, Any]] = {r["queue"]: dict(r) for r in rows}
    return [{"queue": q, "label": Queue(q).label,
             **{k: by_queue.get(q, {}).get(k, 0) for k in ("open", "overdue", "unclaimed")}}
            for q in visible_queues(user)]


# --- the review page -------------------------------------------------------------------------


def _detection_evidence(target_type: str, target_id: int) -> Any:
    """Automated detection's evidence (classifier scores, hash matches, frames), when that
    app provides it; the review page works without it."""
    if importlib.util.find_spec("apps.moderation.detection.selectors") is None:
        return None
    detection = importlib.import_module("apps.moderation.detection.selectors")
    evidence_for = getattr(detection, "evidence_for", None)
    return evidence_for(target_type, target_id) if evidence_for else None


@dataclass
class ReviewContext:
    case: Case
    post: Post | None = None
    comment: Comment | None = None
    sound: Sound | None = None
    subject: User | None = None
    playback: dict[str, Any] | None = None
    comments: list[Comment] = field(default_factory=list)
    reports: list[Report] = field(default_factory=list)
    strikes: list[Strike] = field(default_factory=list)
    active_strikes: int = 0
    standing: Standing | None = None
    history: list[EnforcementAction] = field(default_factory=list)
    earlier_cases: list[Case] = field(default_factory=list)
    audit: list[AuditEvent] = field(default_factory=list)
    detection: Any = None
    appeal: Appeal | None = None
    # a reported direct message: per report, the copies it kept (reported + context)
    message_reports: list[tuple[Report, list[MessageEvidence]]] = field(default_factory=list)
    # a live or a live chat message: what each report (or frame alert) kept, newest first,
    # and the live as it is now (live's preview hook)
    live_evidence: list[tuple[LiveEvidence, list[LiveChatEvidence]]] = field(
        default_factory=list)
    live: LivePreview | None = None
    # a direct message refused before it was sent, kept for its automated case
    refused_message: MessageEvidence | None = None


def _message_reports(case: Case) -> list[tuple[Report, list[MessageEvidence]]]:
    """The copies each report of a message case kept, in conversation order: all a
    moderator sees of the conversation (two queries)."""
    reports = list(case.reports.select_related("reporter").order_by("id"))
    copies: dict[int, list[MessageEvidence]] = {r.pk: [] for r in reports}
    for row in (MessageEvidence.objects.filter(report__case=case).select_related("sender")
                .order_by("report_id", F("seq").asc(nulls_last=True), "message_id")):
        assert row.report_id is not None
        copies[row.report_id].append(row)
    return [(r, copies[r.pk]) for r in reports]


def _live_evidence(case: Case) -> list[tuple[LiveEvidence, list[LiveChatEvidence]]]:
    """The copies kept for a live case (per report or frame alert), newest first, each with
    the chat around it in order (two queries; the frames themselves are served apart)."""
    rows = list(LiveEvidence.objects.filter(case=case).select_related("report__reporter")
                .defer("frame").order_by("-id")[:30])
    chat: dict[int, list[LiveChatEvidence]] = {r.pk: [] for r in rows}
    for line in (LiveChatEvidence.objects.filter(evidence__in=rows)
                 .order_by("evidence_id", "sent_at", "message_id")):
        chat[line.evidence_id].append(line)
    return [(r, chat[r.pk]) for r in rows]


def live_frame_of(*, case: Case, evidence_id: int) -> bytes | None:
    """A frame a live case kept (the review page serves it to its moderators)."""
    frame = (LiveEvidence.objects.filter(case=case, pk=evidence_id)
             .values_list("frame", flat=True).first())
    return bytes(frame) if frame else None


def review_context_for(case: Case) -> ReviewContext:
    """Everything the review page shows for one case. Media is played through a signed,
    expiring grant (the post may be private or removed)."""
    ctx = ReviewContext(case=case)
    post_id: int | None = None
    if case.target_type == TargetType.POST:
        post_id = case.target_id
    elif case.target_type == TargetType.COMMENT:
        ctx.comment = (Comment.objects.select_related("author", "post")
                       .filter(pk=case.target_id).first())
        post_id = ctx.comment.post_id if ctx.comment else None
    elif case.target_type == TargetType.SOUND:
        ctx.sound = Sound.objects.filter(pk=case.target_id).first()
    elif case.target_type == TargetType.MESSAGE:
        ctx.message_reports = _message_reports(case)
        ctx.refused_message = (MessageEvidence.objects.filter(
            message_id=case.target_id, report__isnull=True).select_related("sender").first())
    elif case.target_type in (TargetType.LIVE, TargetType.LIVE_MESSAGE):
        ctx.live_evidence = _live_evidence(case)
        live_id = (case.target_id if case.target_type == TargetType.LIVE
                   else next((e.live_id for e, _chat in ctx.live_evidence), None))
        ctx.live = live_preview(live_id=live_id) if live_id is not None else None
    if post_id is not None:
        ctx.post = (Post.objects.select_related("asset", "author", "sound")
                    .filter(pk=post_id).first())
        if ctx.post is not None:
            ctx.playback = playback_for(ctx.post.asset, public_version=None)
            ctx.comments = list(Comment.objects.filter(post_id=post_id)
                                .select_related("author").order_by("-id")[:30])
    if case.subject_id is not None:
        ctx.subject = User.objects.filter(pk=case.subject_id).first()
        ctx.strikes = list(Strike.objects.filter(user_id=case.subject_id)
                           .select_related("action").order_by("-id")[:20])
        ctx.active_strikes = sum(1 for s in ctx.strikes if s.removed_at is None
                                 and s.expires_at > timezone.now())
        ctx.standing = Standing.objects.filter(user_id=case.subject_id).first()
        ctx.history = list(EnforcementAction.objects.filter(subject_id=case.subject_id)
                           .select_related("actor").order_by("-id")[:30])
        ctx.earlier_cases = list(Case.objects.filter(subject_id=case.subject_id)
                                 .exclude(pk=case.pk).select_related("resolved_by")
                                 .order_by("-id")[:20])
    ctx.reports = list(case.reports.select_related("reporter").order_by("-id")[:50])
    ctx.audit = list(case.audit.select_related("actor").order_by("id"))
    ctx.detection = _detection_evidence(case.target_type, case.target_id)
    if case.kind == Case.Kind.APPEAL:
        ctx.appeal = (Appeal.objects.select_related("action", "action__actor")
                      .filter(case=case).first())
    return ctx


# --- dashboard and transparency --------------------------------------------------------------


def dashboard(*, since: datetime, until: datetime) -> dict[str, Any]:
    """The moderation dashboard's figures for a period (decisions made in it), plus the
    queues as they are now."""
    now = timezone.now()
    queues: dict[str, dict[str, Any]] = {
        r["queue"]: dict(r) for r in Case.objects.filter(status=Case.Status.OPEN)
        .values("queue").annotate(open=Count("id"),
                                  overdue=Count("id", filter=Q(sla_due_at__lt=now)))}
    closed = Case.objects.filter(status=Case.Status.CLOSED, resolved_at__gte=since,
                                 resolved_at__lt=until)
    sla = closed.aggregate(total=Count("id"),
                           in_time=Count("id", filter=Q(resolved_at__lte=F("sla_due_at"))))
    actions = EnforcementAction.objects.filter(created_at__gte=since, created_at__lt=until)
    by_policy = list(actions.exclude(action=EnforcementAction.Action.RESTORE)
                     .values("policy").annotate(n=Count("id")).order_by("-n", "policy"))
    by_action: list[dict[str, Any]] = [dict(r) for r in actions.values("action").annotate(
        by_automation=Count("id", filter=Q(actor__isnull=True)),
        by_people=Count("id", filter=Q(actor__isnull=False))).order_by("action")]
    appeals = Appeal.objects.filter(decided_at__gte=since, decided_at__lt=until).aggregate(
        decided=Count("id"), overturned=Count("id", filter=Q(status=Appeal.Status.OVERTURNED)))
    return {
        "since": since, "until": until,
        "queues": [{"queue": q, "label": Queue(q).label,
                    "open": queues.get(q, {}).get("open", 0),
                    "overdue": queues.get(q, {}).get("overdue", 0)} for q in Queue.values],
        "closed": sla["total"], "closed_in_sla": sla["in_time"],
        "sla_compliance": (sla["in_time"] / sla["total"]) if sla["total"] else None,
        "by_policy": by_policy,
        "by_action": by_action,
        "automated": sum(r["by_automation"] for r in by_action),
        "human": sum(r["by_people"] for r in by_action),
        "appeals_decided": appeals["decided"], "appeals_overturned": appeals["overturned"],
        "overturn_rate": (appeals["overturned"] / appeals["decided"])
        if appeals["decided"] else None,
        "reports": Report.objects.filter(created_at__gte=since, created_at__lt=until).count(),
    }


def transparency_rows(*, since: datetime, until: datetime) -> list[list[str | int]]:
    """Rows of the transparency report: per policy, reports received, cases closed by
    resolution, and actions taken by kind and by automation or people."""
    reports = dict(Report.objects.filter(created_at__gte=since, created_at__lt=until)
                   .values_list("policy").annotate(n=Count("id")))
    resolved: dict[tuple[str, str], int] = {
        (r["policy"], r["resolution"]): r["n"] for r in Case.objects.filter(
            status=Case.Status.CLOSED, resolved_at__gte=since, resolved_at__lt=until)
        .values("policy", "resolution").annotate(n=Count("id"))}
    acted: dict[tuple[str, str, bool], int] = {
        (r["policy"], r["action"], r["by_automation"]): r["n"] for r in EnforcementAction.objects
        .filter(created_at__gte=since, created_at__lt=until)
        .annotate(by_automation=ExpressionWrapper(Q(actor__isnull=True),
                                                  output_field=BooleanField()))
        .values("policy", "action", "by_automation").annotate(n=Count("id"))}
    rows: list[list[str | int]] = []
    for policy in Policy.values:
        rows.append([policy, "reports_received", "", reports.get(policy, 0)])
        for resolution in Case.Resolution.values:
            rows.append([policy, "cases_closed", resolution,
                         resolved.get((policy, resolution), 0)])
        for action in EnforcementAction.Action.values:
            for automated in (True, False):
                rows.append([policy, "automated_actions" if automated else "human_actions",
                             action, acted.get((policy, action, automated), 0)])
    return rows


def messages_covered_by(*, case_id: int | None, target_id: int,
                        sender_id: int | None) -> list[int]:
    """The direct messages one removal of a message case takes down: its target, then every
    other message the case's reports pointed at from the same sender (a reporter who picks
    three insults reports three messages, and one decision answers for all three). Messages
    of other senders a report pointed at stay: each answers for their own. Target first."""
    ids = [target_id]
    if case_id is None or sender_id is None:
        return ids
    for message_id in (MessageEvidence.objects
                       .filter(report__case_id=case_id, reported=True, sender_id=sender_id)
                       .order_by("seq", "message_id").values_list("message_id", flat=True)):
        if message_id not in ids:
            ids.append(message_id)
    return ids
