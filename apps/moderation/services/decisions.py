"""A moderator's decision on a claimed case: the decisions offered, applying one, closing
cases with no violation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db import transaction

from apps.accounts.models import User
from apps.content import services as content_services
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.moderation.decision_hooks import run_case_decided_hooks
from apps.moderation.models import Appeal, Case, EnforcementAction, Queue, Report, TargetType
from apps.moderation.services._common import ACCOUNT_ACTIONS, Action, _audit, _check_policy
from apps.moderation.services.appeals import _decide_appeal, _reverse
from apps.moderation.services.cases import _close, _locked_claimed, case_claim, case_escalate
from apps.moderation.services.enforcement import enforce
from apps.moderation.services.notices import _notify_action


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
    # A direct message: taken down for everyone in the conversation (messaging's hook).
    "remove_message": Decision("r", "Remove message + strike", (Action.REMOVE, Action.STRIKE),
                               targets=(TargetType.MESSAGE,)),
    # A live: ended now, or its host's key banned (which ends it too), through live's hooks.
    "end_live": Decision("x", "End the live", (Action.END_LIVE,), targets=(TargetType.LIVE,)),
    "end_live_strike": Decision("r", "End the live + strike", (Action.END_LIVE, Action.STRIKE),
                                targets=(TargetType.LIVE,)),
    "key_ban": Decision("y", "Ban the stream key + strike", (Action.KEY_BAN, Action.STRIKE),
                        targets=(TargetType.LIVE,)),
    # A live chat message: hidden for everyone in the chat (live's hook).
    "remove_live_message": Decision("r", "Remove message + strike",
                                    (Action.REMOVE, Action.STRIKE),
                                    targets=(TargetType.LIVE_MESSAGE,)),
    "age_restrict": Decision("g", "Age-restrict", (Action.AGE_RESTRICT,),
                             targets=(TargetType.POST,)),
    "limit_reach": Decision("l", "Limit reach", (Action.LIMIT_REACH,),
                            targets=(TargetType.POST,)),
    "disable_comments": Decision("c", "Disable comments", (Action.DISABLE_COMMENTS,),
                                 targets=(TargetType.POST,)),
    "search_ban": Decision("h", "Hide from search", (Action.SEARCH_BAN,),
                           targets=(TargetType.POST, TargetType.USER)),
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
        _learn(case, upheld=decision != "overturn" if case.kind == Case.Kind.APPEAL
               else bool(spec.actions))
    return case


def _learn(case: Case, *, upheld: bool) -> None:
    """Automated evidence of the decided case (an appeal: of the case that took the action)
    goes to the detectors' training data through the decided hooks."""
    evidence = case.evidence
    if case.kind == Case.Kind.APPEAL:
        original = (Appeal.objects.filter(case=case).values_list("action__case__evidence",
                                                                 flat=True).first())
        evidence = original if isinstance(original, list) else []
    if any(isinstance(e, dict) and e.get("source") == "detection" for e in evidence or []):
        run_case_decided_hooks(case_id=case.pk, evidence=list(evidence), upheld=upheld)


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
