"""Staff view of processing: assets as jobs with their steps (state, attempts, timings, log
tail), and a re-run action that goes through the reprocess service."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import request_ip
from apps.media import services
from apps.media.models import MediaAsset, ProcessingStep


class ProcessingStepInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ProcessingStep
    extra = 0
    can_delete = False
    ordering = ("id",)
    fields = ("name", "state", "attempts", "started_at", "finished_at", "seconds",
              "heartbeat_at", "log_tail")
    readonly_fields = fields

    @admin.display(description="seconds")
    def seconds(self, step: ProcessingStep) -> str:
        value = step.duration_seconds
        return "" if value is None else f"{value:.1f}"

    def has_add_permission(self, request: HttpRequest, obj: MediaAsset | None = None) -> bool:
        return False


@admin.register(MediaAsset)
class MediaAssetAdmin(AuditedModelAdmin):
    list_display = ("id", "owner", "state", "progress", "playable_at", "ready_at",
                    "duration_ms", "width", "height", "created_at")
    list_filter = ("state",)
    search_fields = ("=id", "owner__username")
    ordering = ("-id",)
    date_hierarchy = "created_at"
    raw_id_fields = ("owner",)
    readonly_fields = ("state", "state_reason", "progress", "upload_length", "upload_offset",
                       "upload_expires_at", "uploaded_at", "processing_started_at",
                       "playable_at", "ready_at", "probe", "outputs", "duration_ms", "width",
                       "height", "frame_rate", "declared_content_type")
    inlines = (ProcessingStepInline,)
    actions = ("rerun",)
    action_form = ReasonActionForm

    @admin.action(description="Re-run processing (from the kept source)")
    def rerun(self, request: HttpRequest, queryset: QuerySet[MediaAsset]) -> None:
        reason, ip = action_reason(request), request_ip(request)
        started = sum(services.asset_reprocess(asset_id=pk, actor=request.user, reason=reason,
                                               ip=ip)
                      for pk in queryset.values_list("pk", flat=True))
        self.message_user(request, f"Re-queued {started} of {queryset.count()} assets.",
                          messages.SUCCESS if started else messages.WARNING)


@admin.register(ProcessingStep)
class ProcessingStepAdmin(AuditedModelAdmin):
    list_display = ("id", "asset_id", "name", "state", "attempts", "started_at",
                    "finished_at", "seconds")
    list_filter = ("state", "name")
    search_fields = ("=asset__id",)
    ordering = ("-id",)
    readonly_fields = ("asset", "name", "state", "attempts", "claimed_by", "started_at",
                       "heartbeat_at", "finished_at", "log_tail", "output")

    @admin.display(description="seconds")
    def seconds(self, step: ProcessingStep) -> str:
        value = step.duration_seconds
        return "" if value is None else f"{value:.1f}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
