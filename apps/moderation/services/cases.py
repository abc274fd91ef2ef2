"""Cases: opening and merging (reports and automated detection), queues and claims,
escalation and closing.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.moderation import conf
from apps.moderation.models import Case, Priority, Queue, Report
from apps.moderation.notice_hooks import run_report_resolved_hooks
from apps.moderation.policies import Policy
from apps.moderation.selectors import check_reportable
from apps.moderation.services._common import SOURCES, _audit, _check_policy
from apps.moderation.services.targets import subject_of


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
    queue = conf.queue_for(target_type, policy)
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
        pending = list(Report.objects.filter(case=case, outcome=Report.Outcome.PENDING)
                       .values_list("id", flat=True))
        Report.objects.filter(pk__in=pending).update(outcome=outcome, resolved_at=now)
        for report_id in pending:  # each reporter is told the outcome
            run_report_resolved_hooks(report_id=report_id)
