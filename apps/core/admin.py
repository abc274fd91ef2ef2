"""The audit trail in the admin: read-only, filtered by action and actor, searched by
target (id or ref) or actor."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.models import AuditEvent


class ActorFilter(admin.SimpleListFilter):
    title = "actor"
    parameter_name = "actor"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        actors = (AuditEvent.objects.filter(actor__isnull=False)
                  .values_list("actor_id", "actor__username").distinct()
                  .order_by("actor__username")[:100])
        return [("automation", "Automation"), *((str(pk), name) for pk, name in actors)]

    def queryset(self, request: HttpRequest,
                 queryset: QuerySet[AuditEvent]) -> QuerySet[AuditEvent]:
        value = self.value()
        if value == "automation":
            return queryset.filter(actor__isnull=True)
        if value and value.isdigit():
            return queryset.filter(actor_id=int(value))
        return queryset


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("id", "created_at", "action_name", "actor", "target_type", "target_id",
                    "target_repr", "reason", "ip")
    list_filter = ("app", "verb", ActorFilter, "target_type")
    search_fields = ("=target_id", "target_repr", "=actor__username", "reason")
    list_select_related = ("actor",)
    ordering = ("-id",)
    show_full_result_count = False

    @admin.display(description="action", ordering="verb")
    def action_name(self, row: AuditEvent) -> str:
        return row.action_name

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
