"""Live in the admin: lives (read-only, with "end" for staff), stream keys (read-only, with
"revoke") and the go-live policy (one row). Every write is an audit row
(`AuditedModelAdmin`; the actions record theirs with the reason typed beside them)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import record_audit, request_ip
from apps.live.models import LivePolicy, LiveStream, StreamKey
from apps.live.services import key_revoke, live_end


class ReadOnlyRows(AuditedModelAdmin):
    """Rows that only the live's services write: staff read them and act through the
    actions."""

    action_form = ReasonActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in self.model._meta.fields]


@admin.register(LiveStream)
class LiveStreamAdmin(ReadOnlyRows):
    list_display = ("id", "title", "host", "state", "audience", "started_at", "ended_at",
                    "end_reason", "peak_viewers")
    list_filter = ("state", "audience", "end_reason")
    search_fields = ("=id", "host__username", "title")
    list_select_related = ("host",)
    ordering = ("-id",)
    actions = ["end_lives"]

    @admin.action(description="End the selected lives (a moderator's end)",
                  permissions=["change"])
    def end_lives(self, request: HttpRequest, queryset: QuerySet[LiveStream]) -> None:
        reason = action_reason(request)
        ended = 0
        for live in queryset.exclude(state=LiveStream.State.ENDED):
            with transaction.atomic():
                live_end(live, reason=LiveStream.EndReason.MODERATOR, by=request.user)  # type: ignore[arg-type]
                record_audit(actor=request.user, action="live.end", target=live,
                             reason=reason, ip=request_ip(request))
            ended += 1
        self.message_user(request, f"{ended} live{'s' if ended != 1 else ''} ended.",
                          messages.SUCCESS)


@admin.register(StreamKey)
class StreamKeyAdmin(ReadOnlyRows):
    list_display = ("prefix", "user", "created_at", "last_used_at", "revoked_at")
    list_filter = (("revoked_at", admin.EmptyFieldListFilter),)
    search_fields = ("user__username", "prefix")
    list_select_related = ("user",)
    ordering = ("-id",)
    actions = ["revoke_keys"]

    @admin.action(description="Revoke the selected keys (a live they stream ends)",
                  permissions=["change"])
    def revoke_keys(self, request: HttpRequest, queryset: QuerySet[StreamKey]) -> None:
        reason = action_reason(request)
        revoked = 0
        for key in queryset.filter(revoked_at__isnull=True).select_related("user"):
            with transaction.atomic():
                if key_revoke(key.user, by=request.user) is not None:  # type: ignore[arg-type]
                    record_audit(actor=request.user, action="live.key_revoke", target=key,
                                 reason=reason, ip=request_ip(request))
                    revoked += 1
        self.message_user(request, f"{revoked} key{'s' if revoked != 1 else ''} revoked.",
                          messages.SUCCESS)


@admin.register(LivePolicy)
class LivePolicyAdmin(AuditedModelAdmin):
    list_display = ("__str__", "min_age", "min_account_days", "min_followers",
                    "reconnect_window_seconds", "chat_max_chars", "updated_at")
    fieldsets = (
        ("Who may go live", {"fields": ("min_age", "min_account_days", "min_followers",
                                        "reconnect_window_seconds")}),
        ("Live chat", {
            "description": "Every live's chat reads these (apps.live.chat.limits) from the "
                           "next message on. The host skips the rate limits; the host and "
                           "their moderators skip slow mode.",
            "fields": ("chat_max_chars", ("chat_burst_messages", "chat_burst_seconds"),
                       ("chat_sustained_messages", "chat_sustained_seconds"),
                       "chat_slow_mode_max_seconds",
                       ("chat_mute_short_minutes", "chat_mute_long_minutes"))}),
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not LivePolicy.objects.exists()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
