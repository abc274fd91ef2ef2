from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts import hooks, services
from apps.accounts.models import DataExport, Device, User
from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import request_ip


class _NullFilter(admin.SimpleListFilter):
    field = ""

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", "Yes"), ("no", "No")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "yes":
            return queryset.filter(**{f"{self.field}__isnull": False})
        if self.value() == "no":
            return queryset.filter(**{f"{self.field}__isnull": True})
        return queryset


class DeactivatedFilter(_NullFilter):
    title = "deactivated"
    parameter_name = "deactivated"
    field = "deactivated_at"


class DeletionScheduledFilter(_NullFilter):
    title = "deletion scheduled"
    parameter_name = "deletion_scheduled"
    field = "deletion_scheduled_for"


@admin.register(User)
class UserAdmin(AuditedModelAdmin, BaseUserAdmin):  # type: ignore[type-arg]
    """Staff edits of accounts (staff and superuser flags, groups, permissions, active,
    verified) and the badge actions are recorded in the audit trail."""

    list_display = ("username", "email", "display_name", "is_verified", "is_private",
                    "is_staff", "is_active", "deactivated_at", "deletion_scheduled_for",
                    "date_joined")
    list_filter = ("is_staff", "is_verified", "is_private", "is_active", DeactivatedFilter,
                   DeletionScheduledFilter)
    search_fields = ("username", "email", "display_name")
    ordering = ("-id",)
    readonly_fields = ("followers_count", "following_count", "username_skeleton",
                       "username_changed_at", "avatar_sizes", "last_login", "date_joined")
    fieldsets = (
        *(BaseUserAdmin.fieldsets or ()),
        ("Profile", {"fields": ("display_name", "bio", "links", "date_of_birth", "avatar",
                                "avatar_sizes", "is_private", "is_verified")}),
        ("Lifecycle", {"fields": ("username_skeleton", "username_changed_at",
                                  "deactivated_at", "deletion_scheduled_for")}),
        ("Counters", {"fields": ("followers_count", "following_count")}),
    )
    actions = ("mark_verified", "unmark_verified")
    action_form = ReasonActionForm

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        hooks.account_changed(user_ids=[obj.pk])  # the services' announcement, for staff edits

    @admin.action(description="Give the verified badge")
    def mark_verified(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = services.users_set_verified(
            user_ids=queryset.values_list("pk", flat=True), verified=True, actor=request.user,
            reason=action_reason(request), ip=request_ip(request))
        self.message_user(request, f"{count} account(s) verified.", messages.SUCCESS)

    @admin.action(description="Remove the verified badge")
    def unmark_verified(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        count = services.users_set_verified(
            user_ids=queryset.values_list("pk", flat=True), verified=False, actor=request.user,
            reason=action_reason(request), ip=request_ip(request))
        self.message_user(request, f"{count} account(s) no longer verified.", messages.SUCCESS)


admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(AuditedModelAdmin, BaseGroupAdmin):
    """Groups carry staff permissions (the moderator groups): their changes are audited."""


@admin.register(Device)
class DeviceAdmin(AuditedModelAdmin):
    list_display = ("id", "user", "platform", "app_version", "device_identifier", "ip",
                    "last_seen_at", "created_at")
    list_filter = ("platform", "app_version")
    search_fields = ("user__username", "user__email", "device_identifier", "ip")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("session_key", "created_at")


@admin.register(DataExport)
class DataExportAdmin(AuditedModelAdmin):
    list_display = ("id", "user", "state", "size_bytes", "created_at", "expires_at")
    list_filter = ("state",)
    search_fields = ("user__username",)
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    readonly_fields = ("file", "size_bytes", "error", "created_at", "finished_at",
                       "expires_at")
