"""Moderation in the Django admin: the case queues (filters, counts, bulk actions) and the
read-only records (reports, the enforcement audit, strikes, appeals, notices). Decisions
are made on the review page (`/moderation/cases/<id>/`), not by editing rows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.moderation import selectors, services
from apps.moderation.models import (
    Appeal,
    AuditEvent,
    BanSignal,
    Case,
    EnforcementAction,
    Notice,
    Queue,
    Report,
    Standing,
    Strike,
)


def _user(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Audit records: nobody edits or deletes them here."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class QueueFilter(admin.SimpleListFilter):
    title = "queue"
    parameter_name = "queue__exact"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(q, Queue(q).label) for q in selectors.visible_queues(_user(request))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        return queryset.filter(queue=self.value()) if self.value() else queryset


class OverdueFilter(admin.SimpleListFilter):
    title = "SLA"
    parameter_name = "overdue"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Overdue"), ("no", "Within SLA")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        open_ = Q(status=Case.Status.OPEN)
        if self.value() == "yes":
            return queryset.filter(open_, sla_due_at__lt=timezone.now())
        if self.value() == "no":
            return queryset.filter(open_, sla_due_at__gte=timezone.now())
        return queryset


class AssignedFilter(admin.SimpleListFilter):
    title = "assigned"
    parameter_name = "assigned"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("me", "To me"), ("nobody", "Unclaimed"), ("others", "To others")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Case]) -> QuerySet[Case]:
        now, me = timezone.now(), _user(request).pk
        held = Q(assigned_to__isnull=False, claim_expires_at__gt=now)
        if self.value() == "me":
            return queryset.filter(held, assigned_to_id=me)
        if self.value() == "nobody":
            return queryset.exclude(held)
        if self.value() == "others":
            return queryset.filter(held).exclude(assigned_to_id=me)
        return queryset


@admin.register(Case)
class CaseAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    change_list_template = "moderation/admin/case_change_list.html"
    list_display = ("id", "review", "kind", "queue", "priority", "policy", "target", "source",
                    "reports_count", "sla", "assigned_to", "status", "resolution")
    list_filter = (QueueFilter, "priority", OverdueFilter, AssignedFilter, "source", "kind",
                   "status", "policy")
    list_select_related = ("assigned_to",)
    ordering = ("status", "priority", "sla_due_at")
    search_fields = ("=id", "=target_id", "=subject__username")
    actions = ["assign_to_me", "close_no_violation", "escalate"]
    readonly_fields = [f.name for f in Case._meta.fields]
    list_per_page = 50

    def get_queryset(self, request: HttpRequest) -> QuerySet[Case]:
        """A moderator sees only the queues their groups may work."""
        return super().get_queryset(request).filter(
            queue__in=selectors.visible_queues(_user(request)))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="")
    def review(self, case: Case) -> str:
        return format_html('<a href="{}">Review</a>',
                           reverse("moderation:case", kwargs={"case_id": case.pk}))

    @admin.display(description="target")
    def target(self, case: Case) -> str:
        return f"{case.target_type} {case.target_id}"

    @admin.display(description="SLA due", ordering="sla_due_at")
    def sla(self, case: Case) -> str:
        overdue = case.status == Case.Status.OPEN and case.sla_due_at < timezone.now()
        return format_html('<span style="color:{}">{}{}</span>',
                           "#c62828" if overdue else "inherit",
                           case.sla_due_at.strftime("%Y-%m-%d %H:%M"),
                           " (overdue)" if overdue else "")

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {**(extra_context or {}), "queue_counts": selectors.queue_counts(_user(request))}
        return super().changelist_view(request, extra_context=extra)

    @admin.action(description="Assign to me (claim)")
    def assign_to_me(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        ids = list(queryset.filter(status=Case.Status.OPEN).values_list("id", flat=True))
        count = services.cases_assign(case_ids=ids, moderator=_user(request))
        self.message_user(request, f"Claimed {count} of {len(ids)} open cases.")

    @admin.action(description="Close as no violation")
    def close_no_violation(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        ids = list(queryset.filter(status=Case.Status.OPEN, kind=Case.Kind.REVIEW)
                   .values_list("id", flat=True))
        count = services.cases_close_no_violation(case_ids=ids, moderator=_user(request))
        self.message_user(request, f"Closed {count} of {len(ids)} cases as no violation.")

    @admin.action(description="Escalate to the senior queue")
    def escalate(self, request: HttpRequest, queryset: QuerySet[Case]) -> None:
        done = 0
        ids = list(queryset.filter(status=Case.Status.OPEN, kind=Case.Kind.REVIEW)
                   .exclude(queue=Queue.SENIOR).values_list("id", flat=True))
        for case_id in ids:
            try:
                services.case_claim(case_id=case_id, moderator=_user(request))
                services.case_escalate(case_id=case_id, moderator=_user(request),
                                       reason="Escalated from the admin list.")
            except ApplicationError as exc:
                self.message_user(request, f"Case {case_id}: {exc.message}", messages.WARNING)
                continue
            done += 1
        self.message_user(request, f"Escalated {done} of {len(ids)} cases.")


@admin.register(Report)
class ReportAdmin(ReadOnlyAdmin):
    list_display = ("id", "reporter", "target_type", "target_id", "policy", "outcome",
                    "created_at")
    list_filter = ("outcome", "policy", "target_type")
    list_select_related = ("reporter",)
    search_fields = ("=target_id", "=reporter__username")


@admin.register(EnforcementAction)
class EnforcementActionAdmin(ReadOnlyAdmin):
    list_display = ("id", "action", "target_type", "target_id", "subject", "policy", "actor",
                    "case", "created_at", "reversed_at")
    list_filter = ("action", "policy", ("actor", admin.EmptyFieldListFilter), "target_type")
    list_select_related = ("subject", "actor")
    search_fields = ("=target_id", "=subject__username", "=actor__username")


@admin.register(Strike)
class StrikeAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "policy", "created_at", "expires_at", "removed_at")
    list_select_related = ("user",)
    search_fields = ("=user__username",)


@admin.register(Standing)
class StandingAdmin(ReadOnlyAdmin):
    list_display = ("user", "state", "limited_until", "suspended_until", "banned_at")
    list_filter = ("state",)
    list_select_related = ("user",)
    search_fields = ("=user__username",)


@admin.register(BanSignal)
class BanSignalAdmin(ReadOnlyAdmin):
    list_display = ("id", "kind", "value", "user", "created_at", "lifted_at")
    list_filter = ("kind",)
    search_fields = ("=value",)


@admin.register(Notice)
class NoticeAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "kind", "title", "policy", "created_at")
    list_filter = ("kind",)
    list_select_related = ("user",)


@admin.register(Appeal)
class AppealAdmin(ReadOnlyAdmin):
    list_display = ("id", "appellant", "action", "status", "created_at", "decided_at")
    list_filter = ("status",)
    list_select_related = ("appellant", "action")


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    list_display = ("id", "created_at", "verb", "actor", "target_type", "target_id", "policy",
                    "case", "reason")
    list_filter = ("verb",)
    list_select_related = ("actor",)
    search_fields = ("=target_id", "=actor__username", "=case__id")
