"""The audit trail in the admin: the read-only list (filtered by app, verb, actor and target
type, searched by target id or ref, actor or reason), and what other apps' admins use to
write to it: `ReasonActionForm` (a reason box next to the actions) and `AuditedModelAdmin`
(every add, change and delete recorded)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.admin.helpers import ActionForm
from django.db import models, transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.audit import record_audit, request_ip
from apps.core.models import AuditEvent


class ReasonActionForm(ActionForm):
    """An admin action form with a reason for the audit trail (`action_form = ...`)."""

    reason = forms.CharField(required=False, max_length=1000, label="Reason",
                             widget=forms.TextInput(attrs={"placeholder": "for the audit trail"}))


def action_reason(request: HttpRequest) -> str:
    """The reason typed next to an admin action (ReasonActionForm)."""
    return str(request.POST.get("reason", "")).strip()


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, models.Model):
        return str(value.pk)
    if isinstance(value, list | tuple | set | QuerySet):
        return [_jsonable(item) for item in value]
    return str(value)


class AuditedModelAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Every add, change (form or list-editable) and delete made in this admin records one
    audit row in the same transaction as the write: `<app>.<model>_add|_change|_delete`
    with the changed fields' new values (never those in `audit_exclude`)."""

    audit_exclude: tuple[str, ...] = ("password", "password1", "password2")

    def _audit(self, request: HttpRequest, obj: models.Model, verb: str, **data: Any) -> None:
        meta = obj._meta
        record_audit(actor=request.user, action=f"{meta.app_label}.{meta.model_name}_{verb}",
                     target=obj, ip=request_ip(request), **data)

    def save_related(self, request: HttpRequest, form: Any, formsets: Any,
                     change: bool) -> None:
        # After save_model, for the form, the list-editable rows and the inlines alike.
        super().save_related(request, form, formsets, change)
        fields = [name for name in form.changed_data if name not in self.audit_exclude]
        inlines = [formset.prefix for formset in formsets if formset.has_changed()]
        if change and not fields and not inlines:
            return
        changed = {name: _jsonable(form.cleaned_data.get(name)) for name in fields}
        self._audit(request, form.instance, "change" if change else "add", changed=changed,
                    **({"inlines": inlines} if inlines else {}))

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        self._audit(request, obj, "delete")
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        # "Delete selected" runs outside the admin's transaction: rows and audit together.
        with transaction.atomic():
            for obj in queryset:
                self._audit(request, obj, "delete")
            super().delete_queryset(request, queryset)


class ViewOnlyAdmin(AuditedModelAdmin):
    """Rows that record a person's own act (a like, a favourite, a share): staff read them,
    never add, edit or delete them, since counts and history follow the act's service (a
    like written here would skip the counter journal). Removal goes through moderation."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
    # What staff scan for first, narrow enough that the reason fits beside the filters; the
    # ids, the data and the IP are on the row's page.
    list_display = ("created_at", "action_name", "actor", "target", "reason")
    list_display_links = ("created_at",)
    list_filter = ("app", "verb", ActorFilter, "target_type")
    search_fields = ("=target_id", "target_repr", "=actor__username", "reason")
    list_select_related = ("actor",)
    ordering = ("-id",)
    show_full_result_count = False

    @admin.display(description="action", ordering="verb")
    def action_name(self, row: AuditEvent) -> str:
        return row.action_name

    @admin.display(description="target")
    def target(self, row: AuditEvent) -> str:
        return row.target_repr or " ".join(
            str(part) for part in (row.target_type, row.target_id) if part not in ("", None))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
