"""The one enforcement service: content actions change the target, account actions apply
to the account that answers for it; strike thresholds and ban signals.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts import services as accounts_services
from apps.accounts.models import Device, User
from apps.comments import services as comment_services
from apps.content import services as content_services
from apps.content.models import Post
from apps.core.errors import ApplicationError, ForbiddenError
from apps.moderation import conf
from apps.moderation.live_hooks import (
    run_live_end_hooks,
    run_live_key_ban_hooks,
    run_live_message_removed_hooks,
)
from apps.moderation.message_hooks import run_message_removed_hooks
from apps.moderation.models import BanSignal, Case, EnforcementAction, Standing, Strike, TargetType
from apps.moderation.selectors import messages_covered_by
from apps.moderation.services._common import (
    _ACTION_TARGETS,
    ACCOUNT_ACTIONS,
    CONTENT_ACTIONS,
    Action,
    _audit,
    _check_policy,
)
from apps.moderation.services.appeals import _restore_target
from apps.moderation.services.notices import _notify, _notify_action
from apps.moderation.services.standing import _standing, active_strikes
from apps.moderation.services.targets import subject_of


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
            _notify_action(row)  # notifications e-mails it too (removals, account actions)
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
    if row.target_type == TargetType.MESSAGE:
        covered = messages_covered_by(case_id=row.case_id, target_id=row.target_id,
                                      sender_id=row.subject_id)
        removed = [m for m in covered if run_message_removed_hooks(message_id=m)]
        row.detail = {"message_ids": [str(m) for m in removed]}  # what an appeal puts back
        return bool(removed)
    if row.target_type == TargetType.LIVE_MESSAGE:
        return run_live_message_removed_hooks(message_id=row.target_id)
    return content_services.sound_set_taken_down(sound_id=row.target_id, taken_down=True)


def _set_post_flag(row: EnforcementAction, **values: Any) -> bool:
    prior = content_services.post_set_moderation_flags(post_id=row.target_id, **values)
    assert prior is not None
    row.detail = {"prior": prior}
    return True


def _apply_end_live(row: EnforcementAction) -> bool:
    ended = run_live_end_hooks(live_id=row.target_id, actor_id=row.actor_id, reason=row.reason)
    row.detail = {"ended": ended}  # False: it had ended already
    return ended


def _apply_key_ban(row: EnforcementAction) -> bool:
    """The host's stream key is revoked (ending a live on air) and no new one is made until
    the ban expires or is lifted: the unreversed row is the ban
    (`selectors.live_key_ban_for`, which live's eligibility asks)."""
    assert row.subject_id is not None
    row.expires_at = timezone.now() + conf.live_key_ban_length()
    revoked = run_live_key_ban_hooks(user_id=row.subject_id, actor_id=row.actor_id,
                                     reason=row.reason)
    row.detail = {"live_id": str(row.target_id), "revoked": revoked}
    return True


def _apply_suspend(row: EnforcementAction) -> bool:
    assert row.subject_id is not None
    row.expires_at = timezone.now() + conf.suspension_length()
    standing = _standing(row.subject_id)
    if standing.state == Standing.State.BANNED:
        return False
    standing.state = Standing.State.SUSPENDED
    standing.suspended_until = max(row.expires_at, standing.suspended_until or row.expires_at)
    standing.save()
    accounts_services.user_set_active(user_id=row.subject_id, active=False)
    return True


def _apply_ban(row: EnforcementAction) -> bool:
    assert row.subject_id is not None
    standing = _standing(row.subject_id)
    standing.state, standing.banned_at = Standing.State.BANNED, timezone.now()
    standing.save()
    accounts_services.user_set_active(user_id=row.subject_id, active=False)
    return True


_APPLY = {
    Action.REMOVE: _apply_remove,
    Action.AGE_RESTRICT: lambda row: _set_post_flag(row, age_restricted=True),
    Action.LIMIT_REACH: lambda row: _set_post_flag(row, limited_reach=True),
    Action.DISABLE_COMMENTS: lambda row: _set_post_flag(
        row, comment_policy=Post.CommentPolicy.OFF),
    Action.SEARCH_BAN: lambda row: True,  # the unreversed row is the ban (search reads it)
    Action.STRIKE: lambda row: True,  # the Strike row is written after the action row
    Action.END_LIVE: _apply_end_live,
    Action.KEY_BAN: _apply_key_ban,
    Action.SUSPEND: _apply_suspend,
    Action.BAN: _apply_ban,
}


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
