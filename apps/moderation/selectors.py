"""Moderation reads: what a reporter may report, a person's reports and notices, the queues
and everything a moderator's review page shows, and the dashboard's figures."""

from __future__ import annotations

import importlib.util
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
from apps.moderation.models import (
    Appeal,
    AuditEvent,
    Case,
    EnforcementAction,
    Notice,
    Queue,
    Report,
    Standing,
    Strike,
    TargetType,
)
from apps.moderation.policies import Policy
from apps.social.models import Block
from apps.social.selectors import discoverable_q

USER_NOT_FOUND = "User not found."


def parse_id(raw: str | int, *, name: str = "id") -> int:
    """A snowflake id from a path or body (strings in JSON); a clear 400 for garbage."""
    try:
        value = int(raw)
    except (TypeError, ValueError):
        raise ApplicationError("Not an id.", code="invalid_id",
                               fields={name: ["A numeric id (as a string)."]}) from None
    if not 0 < value < 2**63:
        raise ApplicationError("Not an id.", code="invalid_id",
                               fields={name: ["Out of range."]})
    return value


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
    else:
        raise ApplicationError("Unknown target type.", code="invalid_target_type")


def reports_for(user: User) -> QuerySet[Report]:
    return Report.objects.filter(reporter=user).order_by("-id")


def notices_for(user: User) -> QuerySet[Notice]:
    return (Notice.objects.filter(user=user).select_related("action")
            .annotate(appealed=Exists(Appeal.objects.filter(action_id=OuterRef("action_id"))))
            .order_by("-id"))


# --- queues ----------------------------------------------------------------------------------


def visible_queues(user: User) -> list[str]:
    return [q for q in Queue.values if user.is_active and user.is_staff
            and user.has_perm(f"moderation.work_queue_{q}")]


def cases_for_moderator(user: User) -> QuerySet[Case]:
    return Case.objects.filter(queue__in=visible_queues(user))


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
