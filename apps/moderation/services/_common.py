"""What the moderation service modules share: the action groups and the audit helper."""

from __future__ import annotations

import logging
from typing import Any

from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.moderation.models import AuditEvent, Case, EnforcementAction, TargetType
from apps.moderation.policies import Policy

logger = logging.getLogger("apps.moderation.services")  # the name it logged under before the split

Action = EnforcementAction.Action

SOURCES = (Case.Source.REPORT, Case.Source.AUTOMATED)

# Actions on the content itself; the rest apply to the account that answers for it.
CONTENT_ACTIONS = {Action.REMOVE, Action.AGE_RESTRICT, Action.LIMIT_REACH,
                   Action.DISABLE_COMMENTS, Action.SEARCH_BAN, Action.END_LIVE,
                   Action.KEY_BAN}

ACCOUNT_ACTIONS = {Action.STRIKE, Action.SUSPEND, Action.BAN}

# An ended live cannot go back on air: ending it is not appealed (a strike given with it is).
APPEALABLE = (CONTENT_ACTIONS | ACCOUNT_ACTIONS) - {Action.END_LIVE}

# Which targets each content action applies to.
_ACTION_TARGETS = {
    # a message: taken down for everyone through messaging's hook (`message_hooks`)
    # a live chat message: hidden for everyone through live's hook (`live_hooks`)
    Action.REMOVE: {TargetType.POST, TargetType.COMMENT, TargetType.SOUND, TargetType.MESSAGE,
                    TargetType.LIVE_MESSAGE},
    Action.AGE_RESTRICT: {TargetType.POST},
    Action.LIMIT_REACH: {TargetType.POST},
    Action.DISABLE_COMMENTS: {TargetType.POST},
    # The account itself, or one post: search drops them at query time
    # (`moderation.selectors.search_banned_q`).
    Action.SEARCH_BAN: {TargetType.USER, TargetType.POST},
    # through live's hooks (`live_hooks`); the host answers for them
    Action.END_LIVE: {TargetType.LIVE},
    Action.KEY_BAN: {TargetType.LIVE},
}


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
        actor=actor, app="moderation", verb=verb, case=case, action=action,
        target_type=target_type, target_id=target_id, policy=policy, reason=reason[:1000],
        data=data)
