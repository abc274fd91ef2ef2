"""Restoring (reversing the actions on a target or of one decision) and appeals."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.comments import services as comment_services
from apps.content import services as content_services
from apps.content.models import Post
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.moderation import conf
from apps.moderation.live_hooks import run_live_message_restored_hooks
from apps.moderation.message_hooks import run_message_restored_hooks
from apps.moderation.models import (
    Appeal,
    BanSignal,
    Case,
    EnforcementAction,
    Priority,
    Queue,
    Strike,
    TargetType,
)
from apps.moderation.services._common import APPEALABLE, Action, _audit
from apps.moderation.services.cases import _close, _original_deciders
from apps.moderation.services.notices import _notify, _notify_action
from apps.moderation.services.standing import standing_refresh


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
        if row.target_type == TargetType.MESSAGE:
            removed = [int(m) for m in detail.get("message_ids", [])] or [row.target_id]
            restored = [m for m in removed if run_message_restored_hooks(message_id=m)]
            return bool(restored)
        if row.target_type == TargetType.LIVE_MESSAGE:
            return run_live_message_restored_hooks(message_id=row.target_id)
        return content_services.sound_set_taken_down(sound_id=row.target_id,
                                                     taken_down=False)
    if row.action in (Action.AGE_RESTRICT, Action.LIMIT_REACH, Action.DISABLE_COMMENTS):
        prior = detail.get("prior") or {}
        return bool(prior) and content_services.post_set_moderation_flags(
            post_id=row.target_id, **prior) is not None
    if row.action == Action.STRIKE:
        return bool(Strike.objects.filter(action=row, removed_at__isnull=True).update(
            removed_at=timezone.now()))
    if row.action == Action.BAN:
        BanSignal.objects.filter(action=row, lifted_at__isnull=True).update(
            lifted_at=timezone.now())
    # An ended live does not go back on air. Search ban, key ban: the reversed row no
    # longer counts; suspend, ban: standing_refresh.
    return row.action != Action.END_LIVE


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
                    Action.DISABLE_COMMENTS, Action.SEARCH_BAN, Action.KEY_BAN,
                    Action.SUSPEND, Action.BAN])
        .order_by("id"))
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
                body=("We reviewed our decision again and reversed it: you can log in "
                      "again. " if action.action in (Action.SUSPEND, Action.BAN) else
                      "We reviewed our decision again and reversed it: what we took down "
                      "is back and the strike is removed. ") + reason,
                policy=action.policy, appealable=False)
    else:
        _notify(user_id=appeal.appellant_id, action=action, kind="appeal_rejected",
                title="Your appeal was reviewed",
                body="A different moderator reviewed our decision and upheld it. " + reason,
                policy=action.policy, appealable=False)
    appeal.status = Appeal.Status.OVERTURNED if overturn else Appeal.Status.UPHELD
    appeal.decided_at = now
    appeal.save(update_fields=["status", "decided_at"])
    _close(case, resolution=(Case.Resolution.OVERTURNED if overturn
                             else Case.Resolution.UPHELD), moderator=moderator)
    _audit("appeal_decided", actor=moderator, case=case, action=action,
           policy=action.policy, reason=reason, overturned=overturn)
