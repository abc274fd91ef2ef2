"""Moderation writes: opening and merging cases, claims, decisions, the one enforcement
service, strikes and standing, notices, appeals. Every write leaves an `AuditEvent`.

`case_open_or_merge` and `enforce` are the contract automated detection
(`apps.moderation.detection`) calls; keep their signatures.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core import signing
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Q
from django.utils import timezone

from apps.accounts.models import Device, User
from apps.comments import services as comment_services
from apps.comments.models import Comment
from apps.content import services as content_services
from apps.content.models import Post, Sound
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.moderation import conf
from apps.moderation.models import (
    Appeal,
    AuditEvent,
    BanSignal,
    Case,
    EnforcementAction,
    Notice,
    Priority,
    Queue,
    Report,
    Standing,
    Strike,
    TargetType,
)
from apps.moderation.policies import Policy
from apps.moderation.selectors import check_reportable

logger = logging.getLogger(__name__)

Action = EnforcementAction.Action
SOURCES = (Case.Source.REPORT, Case.Source.AUTOMATED)
# Actions on the content itself; the rest apply to the account that answers for it.
CONTENT_ACTIONS = {Action.REMOVE, Action.AGE_RESTRICT, Action.LIMIT_REACH,
                   Action.DISABLE_COMMENTS}
ACCOUNT_ACTIONS = {Action.STRIKE, Action.SUSPEND, Action.BAN}
APPEALABLE = CONTENT_ACTIONS | ACCOUNT_ACTIONS
# Which targets each content action applies to.
_ACTION_TARGETS = {
    Action.REMOVE: {TargetType.POST, TargetType.COMMENT, TargetType.SOUND},
    Action.AGE_RESTRICT: {TargetType.POST},
    Action.LIMIT_REACH: {TargetType.POST},
    Action.DISABLE_COMMENTS: {TargetType.POST},
}


# --- targets ---------------------------------------------------------------------------------


def subject_of(*, target_type: str, target_id: int) -> int | None:
    """The account that answers for a target (None for a catalogue sound with no owner).
    Raises NotFoundError when the target does not exist."""
    row: int | None
    if target_type == TargetType.POST:
        row = Post.objects.filter(pk=target_id).values_list("author_id", flat=True).first()
    elif target_type == TargetType.COMMENT:
        row = Comment.objects.filter(pk=target_id).values_list("author_id", flat=True).first()
    elif target_type == TargetType.USER:
        row = User.objects.filter(pk=target_id).values_list("id", flat=True).first()
    elif target_type == TargetType.SOUND:
        found = Sound.objects.filter(pk=target_id).values_list("original_owner_id", flat=True)
        if not found:
            raise NotFoundError("Sound not found.", code="not_found")
        return found[0]
    else:
        raise ApplicationError("Unknown target type.", code="invalid_target_type",
                               fields={"target_type": [f"One of {TargetType.values}."]})
    if row is None:
        raise NotFoundError(f"{target_type.capitalize()} not found.", code="not_found")
    return row


def _check_policy(policy: str) -> None:
    if policy not in Policy.values:
        raise ApplicationError("Unknown policy.", code="invalid_policy",
                               fields={"policy": [f"One of {Policy.values}."]})


def _audit(verb: str, *, actor: User | None = None, case: Case | None = None,
           action: EnforcementAction | None = None, target_type: str = "",
           target_id: int | None = None, policy: str = "", reason: str = "",
           **data: Any) -> AuditEvent:
    if case is not None and not target_type:
        target_type, target_id = case.target_type, case.target_id
    return AuditEvent.objects.create(
        actor=actor, verb=verb, case=case, action=action, target_type=target_type,
        target_id=target_id, policy=policy, reason=reason[:1000], data=data)


# --- cases -----------------------------------------------------------------------------------


def _open_case(target_type: str, target_id: int) -> Case | None:
    return (Case.objects.select_for_update()
            .filter(target_type=target_type, target_id=target_id, status=Case.Status.OPEN,
                    kind=Case.Kind.REVIEW).first())


def case_open_or_merge(*, target_type: str, target_id: int, source: str, policy: str,
                       priority: int = 2, evidence: dict[str, Any] | None = None,
                       reporter: User | None = None, reason: str = "") -> Case:
    """Open a review case for a target, or merge into its open one (reports and automated
    flags of one target are one case). A reporter's report is recorded with the case; a
    reporter has at most one open report per target (ConflictError otherwise). Automated
    evidence is appended to the case's evidence list."""
    if source not in SOURCES:
        raise ApplicationError("Unknown source.", code="invalid_source",
                               fields={"source": [f"One of {list(SOURCES)}."]})
    _check_policy(policy)
    if source == Case.Source.REPORT and reporter is None:
        raise ApplicationError("A report needs its reporter.", code="reporter_required")
    subject_id = subject_of(target_type=target_type, target_id=target_id)
    queue = conf.POLICY_QUEUE.get(Policy(policy), Queue.GENERAL)
    priority = min(max(int(priority), Priority.URGENT), Priority.LOW,
                   conf.POLICY_PRIORITY_FLOOR.get(Policy(policy), Priority.LOW))
    now = timezone.now()
    entry = [{**evidence, "at": now.isoformat(), "policy": policy}] if evidence else []
    with transaction.atomic():
        case = _open_case(target_type, target_id)
        created = False
        if case is None:
            try:
                with transaction.atomic():
                    case = Case.objects.create(
                        target_type=target_type, target_id=target_id, subject_id=subject_id,
                        policy=policy, queue=queue, priority=priority, source=source,
                        sla_due_at=now + conf.sla_for(queue, priority), evidence=entry)
                    created = True
            except IntegrityError:  # another report opened it a moment ago: merge into it
                case = _open_case(target_type, target_id)
                if case is None:
                    raise
        if not created:
            _merge(case, queue=queue, policy=policy, priority=priority, entry=entry, now=now)
        if reporter is not None:
            try:
                with transaction.atomic():
                    Report.objects.create(reporter=reporter, case=case,
                                          target_type=target_type, target_id=target_id,
                                          policy=policy, details=reason[:1000])
            except IntegrityError:
                raise ConflictError("You have already reported this; we are looking at it.",
                                    code="already_reported") from None
            Case.objects.filter(pk=case.pk).update(reports_count=F("reports_count") + 1)
            case.reports_count += 1
            _bump_for_reports(case, now=now)
        _audit("case_opened" if created else "case_merged", actor=reporter, case=case,
               policy=policy, reason=reason, source=source, evidence=bool(entry))
    return case


def report_create(*, reporter: User, target_type: str, target_id: int, policy: str,
                  details: str = "") -> Report:
    """A user's report of something they can see (NotFoundError otherwise, as if it did
    not exist); it opens or joins the target's case."""
    check_reportable(viewer=reporter, target_type=target_type, target_id=target_id)
    if subject_of(target_type=target_type, target_id=target_id) == reporter.pk:
        raise ApplicationError("You cannot report yourself or your own content.",
                               code="own_content")
    case = case_open_or_merge(target_type=target_type, target_id=target_id,
                              source=Case.Source.REPORT, policy=policy, reporter=reporter,
                              reason=details.strip())
    return Report.objects.get(case=case, reporter=reporter, outcome=Report.Outcome.PENDING)


def _merge(case: Case, *, queue: str, policy: str, priority: int,
           entry: list[dict[str, Any]], now: datetime) -> None:
    fields = ["updated_at"]
    if entry:
        case.evidence = [*case.evidence, *entry]
        fields.append("evidence")
    # A more specialised queue wins (a minor-safety report moves a general case there),
    # unless the case was escalated to seniors.
    if case.queue == Queue.GENERAL and queue != Queue.GENERAL:
        case.queue, case.policy = queue, policy
        fields += ["queue", "policy"]
    if priority < case.priority:
        case.priority = priority
        fields.append("priority")
    due = now + conf.sla_for(case.queue, case.priority)
    if due < case.sla_due_at:
        case.sla_due_at = due
        fields.append("sla_due_at")
    case.save(update_fields=fields)


def _bump_for_reports(case: Case, *, now: datetime) -> None:
    """Many reports of one target make it more urgent (down to P1)."""
    if (case.reports_count % conf.REPORTS_PER_PRIORITY_STEP == 0
            and case.priority > Priority.HIGH):
        case.priority -= 1
        case.sla_due_at = min(case.sla_due_at, now + conf.sla_for(case.queue, case.priority))
        case.save(update_fields=["priority", "sla_due_at", "updated_at"])


def can_work_queue(user: User, queue: str) -> bool:
    return bool(user.is_active and user.is_staff
                and user.has_perm(f"moderation.work_queue_{queue}"))


def _check_queue(user: User, case: Case) -> None:
    if not can_work_queue(user, case.queue):
        raise ForbiddenError("You may not work this queue.", code="queue_forbidden")


def _original_deciders(case: Case) -> set[int]:
    """For an appeal case: the moderators who made the appealed decision."""
    action = case.appealed_action
    if action is None:
        return set()
    ids = {action.actor_id} if action.actor_id else set()
    if action.case is not None and action.case.resolved_by_id:
        ids.add(action.case.resolved_by_id)
    return ids


def case_claim(*, case_id: int, moderator: User) -> Case:
    """Claim an open case for `claim_ttl` (re-claiming one's own extends it). A
    compare-and-set: of two moderators claiming at once exactly one gets it."""
    case = Case.objects.select_related("appealed_action__case").filter(pk=case_id).first()
    if case is None:
        raise NotFoundError("Case not found.", code="not_found")
    _check_queue(moderator, case)
    if case.kind == Case.Kind.APPEAL and moderator.pk in _original_deciders(case):
        raise ForbiddenError("An appeal goes to a different moderator than the original.",
                             code="own_decision")
    now = timezone.now()
    claimed = Case.objects.filter(
        Q(assigned_to__isnull=True) | Q(claim_expires_at__lte=now) | Q(assigned_to=moderator),
        pk=case_id, status=Case.Status.OPEN,
    ).update(assigned_to=moderator, claim_expires_at=now + conf.claim_ttl(), updated_at=now)
    if claimed != 1:
        case.refresh_from_db()
        if case.status != Case.Status.OPEN:
            raise ConflictError("This case is already closed.", code="case_closed")
        raise ConflictError("Another moderator is working this case.", code="case_claimed")
    case.refresh_from_db()
    _audit("case_claimed", actor=moderator, case=case)
    return case


def case_claim_next(*, queue: str, moderator: User) -> Case | None:
    """Claim the most urgent open case of a queue that nobody holds (SKIP LOCKED, so
    moderators pulling from one queue at once each get a different case)."""
    if not can_work_queue(moderator, queue):
        raise ForbiddenError("You may not work this queue.", code="queue_forbidden")
    now = timezone.now()
    with transaction.atomic():
        candidates = (Case.objects.select_for_update(skip_locked=True, of=("self",))
                      .select_related("appealed_action__case")
                      .filter(Q(assigned_to__isnull=True) | Q(claim_expires_at__lte=now),
                              queue=queue, status=Case.Status.OPEN)
                      .order_by("priority", "sla_due_at", "id"))
        # One row at a time: LIMIT n FOR UPDATE would lock n rows and starve the others.
        skipped: list[int] = []
        for _ in range(20):
            case = candidates.exclude(pk__in=skipped).first()
            if case is None:
                return None
            if case.kind == Case.Kind.APPEAL and moderator.pk in _original_deciders(case):
                skipped.append(case.pk)
                continue
            case.assigned_to, case.claim_expires_at = moderator, now + conf.claim_ttl()
            case.save(update_fields=["assigned_to", "claim_expires_at", "updated_at"])
            _audit("case_claimed", actor=moderator, case=case)
            return case
    return None


def case_release(*, case_id: int, moderator: User) -> None:
    released = Case.objects.filter(pk=case_id, assigned_to=moderator).update(
        assigned_to=None, claim_expires_at=None, updated_at=timezone.now())
    if released:
        _audit("case_released", actor=moderator, case=Case.objects.get(pk=case_id))


def cases_assign(*, case_ids: Iterable[int], moderator: User) -> int:
    """Admin bulk action "assign to me": claims the unclaimed (or expired) cases of queues
    the moderator may work. Returns how many were claimed."""
    count = 0
    for case_id in case_ids:
        try:
            case_claim(case_id=case_id, moderator=moderator)
        except (ConflictError, ForbiddenError, NotFoundError):
            continue
        count += 1
    return count


def _locked_claimed(case_id: int, moderator: User) -> Case:
    case = (Case.objects.select_for_update(of=("self",))
            .select_related("appealed_action__case").filter(pk=case_id).first())
    if case is None:
        raise NotFoundError("Case not found.", code="not_found")
    _check_queue(moderator, case)
    if case.status != Case.Status.OPEN:
        raise ConflictError("This case is already closed.", code="case_closed")
    if case.assigned_to_id != moderator.pk or (
            case.claim_expires_at is None or case.claim_expires_at <= timezone.now()):
        raise ConflictError("Claim the case before deciding it.", code="not_claimed")
    return case


def case_escalate(*, case_id: int, moderator: User, reason: str = "") -> Case:
    """Send a case to the senior queue (the claim is released for a senior to take)."""
    with transaction.atomic():
        case = _locked_claimed(case_id, moderator)
        if case.kind == Case.Kind.APPEAL:
            raise ConflictError("Appeals are decided in the appeals queue.",
                                code="appeal_not_escalable")
        now = timezone.now()
        from_queue = case.queue
        case.queue, case.escalated_at = Queue.SENIOR, now
        case.priority = min(case.priority, Priority.HIGH)
        case.sla_due_at = min(case.sla_due_at, now + conf.sla_for(Queue.SENIOR, case.priority))
        case.assigned_to, case.claim_expires_at = None, None
        case.save(update_fields=["queue", "escalated_at", "priority", "sla_due_at",
                                 "assigned_to", "claim_expires_at", "updated_at"])
        _audit("case_escalated", actor=moderator, case=case, reason=reason,
               from_queue=from_queue)
    return case


def _close(case: Case, *, resolution: str, moderator: User | None,
           outcome: str | None = None) -> None:
    now = timezone.now()
    case.status, case.resolution = Case.Status.CLOSED, resolution
    case.resolved_by, case.resolved_at = moderator, now
    case.assigned_to, case.claim_expires_at = None, None
    case.save(update_fields=["status", "resolution", "resolved_by", "resolved_at",
                             "assigned_to", "claim_expires_at", "updated_at"])
    if outcome is not None:
        Report.objects.filter(case=case, outcome=Report.Outcome.PENDING).update(
            outcome=outcome, resolved_at=now)


def _release_if_held(case: Case) -> None:
    """A post held in review by the pre-publish checks goes live once a moderator clears
    it (or only restricts it)."""
    if case.target_type == TargetType.POST:
        content_services.post_release_from_review(post_id=case.target_id)


@dataclass(frozen=True)
class Decision:
    key: str  # the keyboard shortcut on the review page
    label: str
    actions: tuple[str, ...]
    kinds: tuple[str, ...] = (Case.Kind.REVIEW,)
    targets: tuple[str, ...] = tuple(TargetType.values)


DECISIONS: dict[str, Decision] = {
    "no_violation": Decision("a", "No violation", ()),
    "remove": Decision("r", "Remove + strike", (Action.REMOVE, Action.STRIKE),
                       targets=(TargetType.POST, TargetType.COMMENT, TargetType.SOUND)),
    "age_restrict": Decision("g", "Age-restrict", (Action.AGE_RESTRICT,),
                             targets=(TargetType.POST,)),
    "limit_reach": Decision("l", "Limit reach", (Action.LIMIT_REACH,),
                            targets=(TargetType.POST,)),
    "disable_comments": Decision("c", "Disable comments", (Action.DISABLE_COMMENTS,),
                                 targets=(TargetType.POST,)),
    "strike": Decision("k", "Strike the account", (Action.STRIKE,)),
    "suspend": Decision("s", "Suspend the account", (Action.SUSPEND,)),
    "ban": Decision("b", "Ban the account", (Action.BAN,)),
    "escalate": Decision("e", "Escalate to seniors", ()),
    "uphold": Decision("u", "Uphold (reject appeal)", (), kinds=(Case.Kind.APPEAL,)),
    "overturn": Decision("o", "Overturn (restore)", (Action.RESTORE,),
                         kinds=(Case.Kind.APPEAL,)),
}


def decisions_for(case: Case) -> list[tuple[str, Decision]]:
    return [(name, d) for name, d in DECISIONS.items()
            if case.kind in d.kinds and case.target_type in d.targets
            and not (name == "escalate" and case.queue == Queue.SENIOR)]


def case_decide(*, case_id: int, moderator: User, decision: str, policy: str = "",
                reason: str = "") -> Case:
    """Apply a moderator's decision to a claimed case: run its enforcement actions, close
    the case, tell the reporters the outcome. Appeals: uphold or overturn."""
    spec = DECISIONS.get(decision)
    if spec is None:
        raise ApplicationError("Unknown decision.", code="invalid_decision",
                               fields={"decision": [f"One of {list(DECISIONS)}."]})
    if decision == "escalate":
        return case_escalate(case_id=case_id, moderator=moderator, reason=reason)
    with transaction.atomic():
        case = _locked_claimed(case_id, moderator)
        if case.kind not in spec.kinds or case.target_type not in spec.targets:
            raise ApplicationError("This decision does not apply to this case.",
                                   code="decision_not_applicable")
        policy = policy or case.policy
        _check_policy(policy)
        reason = reason.strip() or spec.label
        if case.kind == Case.Kind.APPEAL:
            _decide_appeal(case, moderator=moderator, overturn=decision == "overturn",
                           reason=reason)
        elif not spec.actions:
            _undo_automation(case, moderator=moderator, reason=reason)
            _close(case, resolution=Case.Resolution.NO_VIOLATION, moderator=moderator,
                   outcome=Report.Outcome.NO_VIOLATION)
            _release_if_held(case)
        else:
            for action in spec.actions:
                if action in ACCOUNT_ACTIONS and case.subject_id is None:
                    continue  # e.g. a catalogue sound: nobody to strike
                enforce(action=action, target_type=case.target_type,
                        target_id=case.target_id, policy=policy, reason=reason,
                        actor=moderator, case=case)
            _close(case, resolution=Case.Resolution.ACTIONED, moderator=moderator,
                   outcome=Report.Outcome.ACTION_TAKEN)
            if Action.REMOVE not in spec.actions:
                _release_if_held(case)
        _audit("case_decided", actor=moderator, case=case, policy=policy, reason=reason,
               decision=decision)
    return case


def _undo_automation(case: Case, *, moderator: User, reason: str) -> None:
    """A moderator found no violation: what automation already did in this case (e.g. a
    pre-publish block) is reversed, and the person is told."""
    automated = list(EnforcementAction.objects.select_for_update().filter(
        case=case, actor__isnull=True, reversed_at__isnull=True)
        .exclude(action=Action.RESTORE).order_by("id"))
    if not automated:
        return
    restore = _reverse(automated, target_type=case.target_type, target_id=case.target_id,
                       subject_id=case.subject_id, policy=case.policy,
                       reason=f"A moderator reviewed the automated decision: {reason}",
                       actor=moderator, case=case)
    if case.subject_id is not None:
        _notify_action(restore)


def cases_close_no_violation(*, case_ids: Iterable[int], moderator: User) -> int:
    """Admin bulk action: claim and close each case as no violation (skipping cases others
    hold or queues the moderator may not work)."""
    closed = 0
    for case_id in case_ids:
        try:
            case_claim(case_id=case_id, moderator=moderator)
            case_decide(case_id=case_id, moderator=moderator, decision="no_violation")
        except (ConflictError, ForbiddenError, NotFoundError, ApplicationError):
            continue
        closed += 1
    return closed


# --- enforcement -----------------------------------------------------------------------------


def _check_actor(actor: User | None, action: str) -> None:
    if actor is None:
        return
    needed = {Action.SUSPEND: "moderation.enforce_suspend", Action.BAN: "moderation.enforce_ban"}
    perm = needed.get(Action(action))
    if perm and not actor.has_perm(perm):
        raise ForbiddenError(f"You may not {action} accounts.", code="action_forbidden")


def enforce(*, action: str, target_type: str, target_id: int, policy: str, reason: str,
            actor: User | None = None, case: Case | None = None) -> EnforcementAction:
    """The one enforcement service. Content actions change the target; account actions
    (strike, suspend, ban) apply to the account that answers for it; `restore` reverses
    every standing action on the target. Each is audited and the person is told why with a
    link to the guideline. `actor` None means automation."""
    if action not in Action.values:
        raise ApplicationError("Unknown action.", code="invalid_action",
                               fields={"action": [f"One of {Action.values}."]})
    _check_policy(policy)
    _check_actor(actor, action)
    subject_id = subject_of(target_type=target_type, target_id=target_id)
    if action in CONTENT_ACTIONS and target_type not in _ACTION_TARGETS[Action(action)]:
        raise ApplicationError(f"{action} does not apply to a {target_type}.",
                               code="action_not_applicable")
    if action in ACCOUNT_ACTIONS and subject_id is None:
        raise ApplicationError("No account answers for this target.", code="no_subject")
    reason = reason.strip() or action
    with transaction.atomic():
        if action == Action.RESTORE:
            return _restore_target(target_type=target_type, target_id=target_id,
                                   policy=policy, reason=reason, actor=actor, case=case,
                                   subject_id=subject_id)
        row = EnforcementAction(action=action, target_type=target_type, target_id=target_id,
                                subject_id=subject_id, policy=policy, reason=reason[:1000],
                                actor=actor, case=case)
        if action in ACCOUNT_ACTIONS:
            assert subject_id is not None
            row.target_type, row.target_id = TargetType.USER, subject_id
            row.detail = {"for": {"type": target_type, "id": str(target_id)}}
        applied = _APPLY[Action(action)](row)
        row.save(force_insert=True)
        _audit(f"enforce_{action}", actor=actor, case=case, action=row,
               target_type=row.target_type, target_id=row.target_id, policy=policy,
               reason=reason, applied=applied)
        if action == Action.STRIKE:
            assert row.subject_id is not None
            Strike.objects.create(user_id=row.subject_id, action=row, policy=policy,
                                  expires_at=timezone.now() + conf.strike_ttl())
            _apply_thresholds(row)
        elif action == Action.BAN:
            _record_ban_signals(row)
        if row.subject_id is not None and action != Action.LIMIT_REACH:
            # Reach limits are not announced (they only keep a post out of For You).
            _notify_action(row)
        if action in (Action.SUSPEND, Action.BAN):
            _email_account_action(row)
    return row


def _apply_remove(row: EnforcementAction) -> bool:
    if row.target_type == TargetType.POST:
        prior = Post.objects.filter(pk=row.target_id).values_list("status", flat=True).first()
        row.detail = {"prior_status": prior}
        return content_services.post_remove(post_id=row.target_id)
    if row.target_type == TargetType.COMMENT:
        prior = comment_services.comment_remove(comment_id=row.target_id)
        row.detail = {"prior_status": prior}
        return prior is not None
    return content_services.sound_set_taken_down(sound_id=row.target_id, taken_down=True)


def _set_post_flag(row: EnforcementAction, **values: Any) -> bool:
    post = Post.objects.filter(pk=row.target_id).values(*values).first()
    assert post is not None
    row.detail = {"prior": post}
    # Post's moderation flags are set by this service only (content documents that).
    changed = bool(Post.objects.filter(pk=row.target_id).update(**values,
                                                                updated_at=timezone.now()))
    if changed and values.get("age_restricted"):
        # no longer watchable signed out: its public media URLs change (CDN purge)
        content_services.posts_public_media_changed(post_ids=[row.target_id])
    return changed


def _standing(user_id: int) -> Standing:
    standing, _ = Standing.objects.select_for_update().get_or_create(user_id=user_id)
    return standing


def _apply_suspend(row: EnforcementAction) -> bool:
    assert row.subject_id is not None
    row.expires_at = timezone.now() + conf.suspension_length()
    standing = _standing(row.subject_id)
    if standing.state == Standing.State.BANNED:
        return False
    standing.state = Standing.State.SUSPENDED
    standing.suspended_until = max(row.expires_at, standing.suspended_until or row.expires_at)
    standing.save()
    User.objects.filter(pk=row.subject_id).update(is_active=False)
    return True


def _apply_ban(row: EnforcementAction) -> bool:
    assert row.subject_id is not None
    standing = _standing(row.subject_id)
    standing.state, standing.banned_at = Standing.State.BANNED, timezone.now()
    standing.save()
    User.objects.filter(pk=row.subject_id).update(is_active=False)
    return True


_APPLY = {
    Action.REMOVE: _apply_remove,
    Action.AGE_RESTRICT: lambda row: _set_post_flag(row, age_restricted=True),
    Action.LIMIT_REACH: lambda row: _set_post_flag(row, limited_reach=True),
    Action.DISABLE_COMMENTS: lambda row: _set_post_flag(
        row, comment_policy=Post.CommentPolicy.OFF),
    Action.STRIKE: lambda row: True,  # the Strike row is written after the action row
    Action.SUSPEND: _apply_suspend,
    Action.BAN: _apply_ban,
}


def active_strikes(user_id: int, *, now: datetime | None = None) -> int:
    return Strike.objects.filter(user_id=user_id, removed_at__isnull=True,
                                 expires_at__gt=now or timezone.now()).count()


def _apply_thresholds(strike: EnforcementAction) -> None:
    """Reaching a strike threshold applies its consequence automatically, as part of the
    same case (so an overturn of the decision reverses it too)."""
    assert strike.subject_id is not None
    count = active_strikes(strike.subject_id)
    consequence = conf.strike_thresholds().get(count)
    if consequence is None:
        return
    reason = f"{count} active strikes."
    if consequence == "limit":
        standing = _standing(strike.subject_id)
        if standing.state == Standing.State.GOOD:
            standing.state = Standing.State.LIMITED
        standing.limited_until = timezone.now() + conf.feature_limit_length()
        standing.save()
        _audit("feature_limit", case=strike.case, action=strike,
               target_type=TargetType.USER, target_id=strike.subject_id,
               policy=strike.policy, reason=reason, until=standing.limited_until.isoformat())
        _notify(user_id=strike.subject_id, action=strike, kind="feature_limit",
                title="Some features are limited",
                body=f"You have {count} active strikes. Until "
                     f"{standing.limited_until:%d %B %Y}, your new posts are reviewed "
                     "before they are published.", policy=strike.policy, appealable=False)
    elif consequence in (Action.SUSPEND, Action.BAN):
        enforce(action=consequence, target_type=TargetType.USER,
                target_id=strike.subject_id, policy=strike.policy, reason=reason,
                actor=None, case=strike.case)


def _record_ban_signals(ban: EnforcementAction) -> None:
    assert ban.subject_id is not None
    devices = Device.objects.filter(user_id=ban.subject_id).values_list(
        "device_identifier", "ip")
    signals: set[tuple[str, str]] = set()
    for device_identifier, ip in devices:
        if device_identifier:
            signals.add((BanSignal.Kind.DEVICE, device_identifier))
        if ip:
            signals.add((BanSignal.Kind.IP, str(ip)))
    BanSignal.objects.bulk_create([
        BanSignal(kind=kind, value=value, user_id=ban.subject_id, action=ban)
        for kind, value in sorted(signals)])


# --- standing --------------------------------------------------------------------------------


def standing_refresh(*, user_id: int, now: datetime | None = None) -> Standing:
    """Recompute an account's standing from what is still in force: unreversed bans,
    unexpired unreversed suspensions, a feature limit while strikes stay at its threshold.
    Lifts `is_active` only for accounts that moderation had deactivated."""
    now = now or timezone.now()
    with transaction.atomic():
        standing = _standing(user_id)
        was_blocked = standing.state in (Standing.State.SUSPENDED, Standing.State.BANNED)
        live = EnforcementAction.objects.filter(subject_id=user_id, reversed_at__isnull=True,
                                                target_type=TargetType.USER)
        banned = live.filter(action=Action.BAN).exists()
        until = live.filter(action=Action.SUSPEND, expires_at__gt=now).aggregate(
            m=Max("expires_at"))["m"]
        limit_at = min((n for n, c in conf.strike_thresholds().items() if c == "limit"),
                       default=None)
        limited = (standing.limited_until is not None and standing.limited_until > now
                   and (limit_at is None or active_strikes(user_id, now=now) >= limit_at))
        standing.suspended_until = until
        standing.limited_until = standing.limited_until if limited else None
        if not banned:
            standing.banned_at = None
        standing.state = (Standing.State.BANNED if banned else Standing.State.SUSPENDED
                          if until else Standing.State.LIMITED if limited
                          else Standing.State.GOOD)
        standing.save()
        blocked = standing.state in (Standing.State.SUSPENDED, Standing.State.BANNED)
        if was_blocked and not blocked:
            User.objects.filter(pk=user_id).update(is_active=True)
        elif blocked:
            User.objects.filter(pk=user_id).update(is_active=False)
    return standing


def standings_sweep(*, now: datetime | None = None) -> int:
    """Beat: lift suspensions and feature limits that have run out."""
    now = now or timezone.now()
    due = Standing.objects.filter(
        Q(state=Standing.State.SUSPENDED, suspended_until__lte=now)
        | Q(state=Standing.State.LIMITED, limited_until__lte=now)
    ).values_list("user_id", flat=True)
    count = 0
    for user_id in list(due[:500]):
        standing_refresh(user_id=user_id, now=now)
        count += 1
    return count


# --- restore and appeals ---------------------------------------------------------------------


def _undo(row: EnforcementAction) -> bool:
    """Reverse one action's effect (the row itself is marked by the caller)."""
    detail = row.detail or {}
    if row.action == Action.REMOVE:
        if row.target_type == TargetType.POST:
            prior = detail.get("prior_status") or Post.Status.PUBLISHED
            if prior == Post.Status.REMOVED:
                return False
            done = content_services.post_reinstate(post_id=row.target_id, status=prior)
            if prior == Post.Status.REVIEWING:
                # Blocked before publishing, cleared by a person: it goes live now.
                content_services.post_release_from_review(post_id=row.target_id)
            return done
        if row.target_type == TargetType.COMMENT:
            prior = detail.get("prior_status")
            return isinstance(prior, str) and comment_services.comment_restore(
                comment_id=row.target_id, status=prior)
        return content_services.sound_set_taken_down(sound_id=row.target_id,
                                                     taken_down=False)
    if row.action in (Action.AGE_RESTRICT, Action.LIMIT_REACH, Action.DISABLE_COMMENTS):
        prior = detail.get("prior") or {}
        return bool(prior) and bool(Post.objects.filter(pk=row.target_id).update(
            **prior, updated_at=timezone.now()))
    if row.action == Action.STRIKE:
        return bool(Strike.objects.filter(action=row, removed_at__isnull=True).update(
            removed_at=timezone.now()))
    if row.action == Action.BAN:
        BanSignal.objects.filter(action=row, lifted_at__isnull=True).update(
            lifted_at=timezone.now())
    return True  # suspend and ban: standing_refresh lifts them


def _reverse(rows: list[EnforcementAction], *, target_type: str, target_id: int,
             subject_id: int | None, policy: str, reason: str, actor: User | None,
             case: Case | None) -> EnforcementAction:
    restore = EnforcementAction(action=Action.RESTORE, target_type=target_type,
                                target_id=target_id, subject_id=subject_id, policy=policy,
                                reason=reason[:1000], actor=actor, case=case,
                                detail={"reverses": [str(r.pk) for r in rows]})
    restore.save(force_insert=True)
    now = timezone.now()
    undone = {}
    for row in rows:
        undone[str(row.pk)] = _undo(row)
        row.reversed_at, row.reversed_by = now, restore
        row.save(update_fields=["reversed_at", "reversed_by"])
    for user_id in {r.subject_id for r in rows if r.subject_id is not None}:
        standing_refresh(user_id=user_id)
    _audit("enforce_restore", actor=actor, case=case, action=restore,
           target_type=target_type, target_id=target_id, policy=policy, reason=reason,
           undone=undone)
    return restore


def _restore_target(*, target_type: str, target_id: int, policy: str, reason: str,
                    actor: User | None, case: Case | None,
                    subject_id: int | None) -> EnforcementAction:
    """`enforce(action="restore")`: reverse every standing action on the target (for an
    account: its suspensions and bans; strikes are reversed through appeals)."""
    rows = list(EnforcementAction.objects.select_for_update().filter(
        target_type=target_type, target_id=target_id, reversed_at__isnull=True,
        action__in=[Action.REMOVE, Action.AGE_RESTRICT, Action.LIMIT_REACH,
                    Action.DISABLE_COMMENTS, Action.SUSPEND, Action.BAN]).order_by("id"))
    restore = _reverse(rows, target_type=target_type, target_id=target_id,
                       subject_id=subject_id, policy=policy, reason=reason, actor=actor,
                       case=case)
    if subject_id is not None and rows:
        _notify_action(restore)
    return restore


def appeal_create(*, user: User, action_id: int, statement: str = "") -> Appeal:
    """The person an action concerns appeals it within the window. The appeal is a case
    in the appeals queue (decided by a moderator other than the original one)."""
    action = (EnforcementAction.objects.select_related("case")
              .filter(pk=action_id, subject_id=user.pk).first())
    if action is None:
        raise NotFoundError("Decision not found.", code="not_found")
    if action.action not in APPEALABLE:
        raise ApplicationError("This decision cannot be appealed.", code="not_appealable")
    if action.reversed_at is not None:
        raise ConflictError("This decision was already reversed.", code="already_reversed")
    if timezone.now() > action.created_at + conf.appeal_window():
        raise ApplicationError("The appeal window for this decision has closed.",
                               code="appeal_window_closed")
    now = timezone.now()
    with transaction.atomic():
        # One appeal per decision: the actions of one case decision are appealed together.
        # The group is locked (so this needs the transaction) while we check and file.
        group = _decision_group(action)
        if Appeal.objects.filter(action__in=group).exists():
            raise ConflictError("This decision is already under appeal or was decided.",
                                code="already_appealed")
        case = Case.objects.create(
            kind=Case.Kind.APPEAL, source=Case.Source.APPEAL, queue=Queue.APPEALS,
            target_type=action.target_type, target_id=action.target_id,
            subject_id=user.pk, policy=action.policy, priority=Priority.NORMAL,
            sla_due_at=now + conf.sla_for(Queue.APPEALS, Priority.NORMAL),
            appealed_action=action)
        try:
            with transaction.atomic():
                appeal = Appeal.objects.create(appellant=user, action=action, case=case,
                                               statement=statement.strip()[:2000])
        except IntegrityError:
            raise ConflictError("This decision is already under appeal or was decided.",
                                code="already_appealed") from None
        _audit("appeal_filed", actor=user, case=case, action=action, policy=action.policy,
               reason=statement[:1000], appeal=str(appeal.pk))
    return appeal


_APPEAL_SALT = "moderation.appeal"


def appeal_token_for(action: EnforcementAction) -> str:
    """A signed link token for appealing an account action: a suspended or banned person
    cannot sign in to use the API, so the e-mail about it carries this instead."""
    return signing.dumps({"a": str(action.pk)}, salt=_APPEAL_SALT)


def action_for_appeal_token(token: str) -> EnforcementAction:
    """The action a token names, while its appeal window is open (NotFoundError else)."""
    try:
        data = signing.loads(token, salt=_APPEAL_SALT,
                             max_age=conf.appeal_window())
        action = EnforcementAction.objects.select_related("subject").get(pk=int(data["a"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError,
            EnforcementAction.DoesNotExist):
        raise NotFoundError("This appeal link is not valid (or has expired).",
                            code="not_found") from None
    if action.subject is None:
        raise NotFoundError("This appeal link is not valid.", code="not_found")
    return action


def _email_account_action(row: EnforcementAction) -> None:
    """After commit: tell a suspended or banned person by e-mail, with an appeal link."""
    if row.subject_id is None:
        return
    user = User.objects.filter(pk=row.subject_id).only("email", "username").first()
    if user is None or not user.email:
        return
    title, body = _notice_text(row)
    link = f"{settings.SITE_URL.rstrip('/')}/moderation/appeal/{appeal_token_for(row)}/"
    text = (f"Hi {user.username},\n\n{body}\n\nThe rule: "
            f"{settings.SITE_URL.rstrip('/')}{conf.guideline_url(row.policy)}\n"
            f"You can appeal within {conf.appeal_window().days} days: {link}\n")
    transaction.on_commit(lambda: send_mail(f"SwipeMe: {title}", text, None, [user.email],
                                            fail_silently=True))


def _email_appeal_outcome(user_id: int, *, overturned: bool, reason: str) -> None:
    """An appeal of a suspension or ban: the person may not be able to sign in to read the
    notice, so the outcome goes by e-mail too (after commit)."""
    email = User.objects.filter(pk=user_id).values_list("email", flat=True).first()
    if not email:
        return
    title = "Your appeal was granted" if overturned else "Your appeal was reviewed"
    body = ("We reversed our decision; you can sign in again." if overturned
            else "A different moderator reviewed our decision and upheld it.")
    transaction.on_commit(lambda: send_mail(f"SwipeMe: {title}", f"{body}\n\n{reason}\n",
                                            None, [email], fail_silently=True))


def _decision_group(action: EnforcementAction) -> list[EnforcementAction]:
    """The actions one decision made: those of the same case concerning the same person
    (e.g. a removal, its strike and the suspension the strike triggered), locked: call it
    inside a transaction."""
    if action.case_id is None:
        return [action]
    return list(EnforcementAction.objects.select_for_update().filter(
        case_id=action.case_id, subject_id=action.subject_id, reversed_at__isnull=True)
        .exclude(action=Action.RESTORE).order_by("id"))


def _decide_appeal(case: Case, *, moderator: User, overturn: bool, reason: str) -> None:
    if moderator.pk in _original_deciders(case):
        raise ForbiddenError("An appeal goes to a different moderator than the original.",
                             code="own_decision")
    appeal = Appeal.objects.select_for_update().get(case=case)
    action = appeal.action
    now = timezone.now()
    if overturn:
        group = _decision_group(action)
        restore = _reverse(group, target_type=action.target_type, target_id=action.target_id,
                           subject_id=action.subject_id, policy=action.policy,
                           reason=reason, actor=moderator, case=case)
        _notify(user_id=appeal.appellant_id, action=restore, kind="appeal_granted",
                title="Your appeal was granted",
                body="We reviewed our decision again and reversed it: what we took down is "
                     "back and the strike is removed. " + reason,
                policy=action.policy, appealable=False)
    else:
        _notify(user_id=appeal.appellant_id, action=action, kind="appeal_rejected",
                title="Your appeal was reviewed",
                body="A different moderator reviewed our decision and upheld it. " + reason,
                policy=action.policy, appealable=False)
    if action.action in (Action.SUSPEND, Action.BAN):
        _email_appeal_outcome(appeal.appellant_id, overturned=overturn, reason=reason)
    appeal.status = Appeal.Status.OVERTURNED if overturn else Appeal.Status.UPHELD
    appeal.decided_at = now
    appeal.save(update_fields=["status", "decided_at"])
    _close(case, resolution=(Case.Resolution.OVERTURNED if overturn
                             else Case.Resolution.UPHELD), moderator=moderator)
    _audit("appeal_decided", actor=moderator, case=case, action=action,
           policy=action.policy, reason=reason, overturned=overturn)


# --- notices ---------------------------------------------------------------------------------

_TARGET_NOUN = {TargetType.POST: "video", TargetType.COMMENT: "comment",
                TargetType.SOUND: "sound", TargetType.USER: "account"}


def _notice_text(row: EnforcementAction) -> tuple[str, str]:
    noun = _TARGET_NOUN.get(TargetType(row.target_type), "content")
    rule = Policy(row.policy).label
    why = f"It goes against our Community Guidelines on {rule}."
    texts = {
        Action.REMOVE: (f"Your {noun} was removed", why),
        Action.AGE_RESTRICT: ("Your video is age-restricted",
                              f"It is no longer shown to viewers under 18. {why}"),
        Action.DISABLE_COMMENTS: ("Comments were turned off on your video", why),
        Action.STRIKE: ("Your account received a strike",
                        f"{why} Strikes expire after {conf.strike_ttl().days} days; more "
                        "strikes lead to feature limits, suspension and a ban."),
        Action.SUSPEND: ("Your account is suspended",
                         f"Until {row.expires_at:%d %B %Y}. {why}" if row.expires_at
                         else why),
        Action.BAN: ("Your account is banned", why),
        Action.RESTORE: (f"Your {noun} was restored",
                         "We reviewed our earlier decision again and reversed it."),
    }
    title, body = texts.get(Action(row.action), ("A moderation decision", why))
    return title, f"{body} Reason: {row.reason}"


def _notify_action(row: EnforcementAction) -> None:
    assert row.subject_id is not None
    title, body = _notice_text(row)
    _notify(user_id=row.subject_id, action=row, kind=row.action, title=title, body=body,
            policy=row.policy, appealable=row.action in APPEALABLE)


def _notify(*, user_id: int, action: EnforcementAction | None, kind: str, title: str,
            body: str, policy: str, appealable: bool) -> Notice:
    until = timezone.now() + conf.appeal_window() if appealable else None
    return Notice.objects.create(user_id=user_id, action=action, kind=kind, title=title,
                                 body=body, policy=policy,
                                 guideline_url=conf.guideline_url(policy),
                                 appealable_until=until)


def notices_mark_read(*, user: User, notice_ids: Iterable[int]) -> int:
    return Notice.objects.filter(user=user, pk__in=list(notice_ids),
                                 read_at__isnull=True).update(read_at=timezone.now())
