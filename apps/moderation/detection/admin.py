"""Staff tools of automated detection: thresholds per policy, hash lists, term lists,
rights claims and matching settings (each change re-scans scanned uploads and is recorded
in the audit trail), and read-only views of the gate state and the scan record."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, QuerySet
from django.http import HttpRequest

from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import request_ip
from apps.moderation.detection import audio, services
from apps.moderation.detection.models import (
    AssetCheck,
    Campaign,
    DetectionSettings,
    HashEntry,
    HashList,
    PolicyRule,
    RightsClaim,
    Scan,
    SupportResource,
    SurfaceThreshold,
    TermList,
    TextLabel,
)


class RescanOnChange(AuditedModelAdmin):
    """Saving or deleting a row re-evaluates the scanned uploads under the new values."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        services.rescan_schedule(reason=f"{obj._meta.model_name} {obj.pk} saved")

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        name = f"{obj._meta.model_name} {obj.pk} deleted"
        super().delete_model(request, obj)
        services.rescan_schedule(reason=name)


@admin.register(PolicyRule)
class PolicyRuleAdmin(RescanOnChange):
    list_display = ("policy", "block_at", "review_at", "age_restrict_at", "limit_reach_at",
                    "on_match", "is_active")
    list_editable = ("is_active",)


@admin.register(DetectionSettings)
class DetectionSettingsAdmin(RescanOnChange):
    list_display = ("__str__", "audio_max_ber", "audio_min_overlap_s", "pdq_min_quality")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not DetectionSettings.objects.exists()


@admin.register(HashList)
class HashListAdmin(RescanOnChange):
    list_display = ("name", "policy", "max_distance", "outcome", "is_active", "entry_count")
    list_filter = ("policy", "is_active")
    search_fields = ("name",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[HashList]:
        rows: QuerySet[HashList] = super().get_queryset(request)
        return rows.annotate(entry_total=Count("entries"))

    @admin.display(description="entries", ordering="entry_total")
    def entry_count(self, obj: HashList) -> int:
        return int(getattr(obj, "entry_total", 0))


@admin.register(HashEntry)
class HashEntryAdmin(RescanOnChange):
    list_display = ("pdq", "hash_list", "note", "created_at")
    list_filter = ("hash_list",)
    search_fields = ("=pdq", "note")
    list_select_related = ("hash_list",)
    raw_id_fields = ("hash_list",)


@admin.register(TermList)
class TermListAdmin(RescanOnChange):
    list_display = ("name", "purpose", "language", "policy", "outcome", "is_active",
                    "updated_at")
    list_filter = ("purpose", "language", "policy", "is_active")
    search_fields = ("name", "terms")


@admin.register(RightsClaim)
class RightsClaimAdmin(RescanOnChange):
    list_display = ("claimant", "sound", "policy", "outcome", "is_active", "has_fingerprint")
    list_filter = ("policy", "is_active")
    search_fields = ("claimant",)
    raw_id_fields = ("sound",)

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        AuditedModelAdmin.save_model(self, request, obj, form, change)
        try:
            services.claim_fingerprint_refresh(claim_id=obj.pk)
        except (audio.FingerprintError, OSError, ValueError) as exc:  # keep the claim, say so
            self.message_user(request, f"Could not fingerprint the reference: {exc}",
                              messages.ERROR)
        services.rescan_schedule(reason=f"claim {obj.pk} saved")

    @admin.display(boolean=True, description="fingerprint")
    def has_fingerprint(self, obj: RightsClaim) -> bool:
        return bool(obj.fingerprint) or obj.sound_id is not None


@admin.register(AssetCheck)
class AssetCheckAdmin(AuditedModelAdmin):
    list_display = ("asset_id", "state", "outcome", "policy", "attempts", "decided_at")
    list_filter = ("state", "outcome", "policy")
    search_fields = ("=asset__id",)
    readonly_fields = [f.name for f in AssetCheck._meta.fields]
    actions = ("scan_again", "clear_manually")
    action_form = ReasonActionForm

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Scan the selected uploads again", permissions=["change"])
    def scan_again(self, request: HttpRequest, queryset: QuerySet[AssetCheck]) -> None:
        count = services.asset_checks_rescan(
            asset_ids=queryset.values_list("asset_id", flat=True), actor=request.user,
            reason=action_reason(request), ip=request_ip(request))
        self.message_user(request, f"{count} scans queued.")

    @admin.action(description="Clear the selected uploads without scanning",
                  permissions=["change"])
    def clear_manually(self, request: HttpRequest, queryset: QuerySet[AssetCheck]) -> None:
        ids = list(queryset.values_list("asset_id", flat=True))
        reason = action_reason(request) or f"cleared by {request.user}"
        for asset_id in ids:
            services.asset_checks_clear(asset_id=asset_id, reason=reason, actor=request.user,
                                        ip=request_ip(request))
        self.message_user(request, f"{len(ids)} uploads cleared.")


@admin.register(Scan)
class ScanAdmin(AuditedModelAdmin):
    list_display = ("id", "target_type", "target_id", "kind", "trigger", "field", "ok",
                    "outcome", "policy", "created_at")
    list_filter = ("kind", "trigger", "outcome", "ok", "target_type")
    search_fields = ("=target_id",)
    readonly_fields = [f.name for f in Scan._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SurfaceThreshold)
class SurfaceThresholdAdmin(RescanOnChange):
    """A text head's thresholds per surface (a row replaces the built-in default of
    `services.text_heads.DEFAULT_THRESHOLDS`), or an image signal's (gore, possible_minor on
    the `upload` surface: `services.image_signals`); every change is on the audit trail and
    re-evaluates the stored scans."""

    list_display = ("category", "surface", "remove_at", "hold_at", "limit_at", "is_active")
    list_filter = ("category", "surface", "is_active")


@admin.register(TextLabel)
class TextLabelAdmin(AuditedModelAdmin):
    """Labels moderators' decisions left for the heads' training (read, or removed when a
    label is wrong); `manage.py moderation_train_text_heads` trains on them."""

    list_display = ("id", "language", "positive", "negative", "case_id", "created_at")
    readonly_fields = [f.name for f in TextLabel._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(SupportResource)
class SupportResourceAdmin(AuditedModelAdmin):
    """Helplines and support pages shown to a person whose text read as self-harm (in the
    inbox and a message composer's answer); every change is on the audit trail."""

    list_display = ("name", "language", "phone", "url", "order", "is_active")
    list_filter = ("language", "is_active")
    list_editable = ("order", "is_active")
    search_fields = ("name", "description")


@admin.register(Campaign)
class CampaignAdmin(AuditedModelAdmin):
    """Copy-paste campaigns found (read-only: the review case is where they are decided)."""

    list_display = ("id", "text", "accounts", "case_target_type", "case_target_id",
                    "created_at")
    readonly_fields = [f.name for f in Campaign._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
