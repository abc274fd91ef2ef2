"""Ad ops in the Django admin: the review queue (approve / reject with reasons the
advertiser reads; each decision one audit row through `services.review`), the landing
domain blocklist (staff-editable, audited), and read-only views of orgs, campaigns and
audiences."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join

from apps.ads.models import Ad, AdvertiserOrg, BlockedDomain, Campaign, CustomAudience
from apps.ads.services import review
from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import request_ip
from apps.core.errors import ApplicationError


class ReviewStateFilter(admin.SimpleListFilter):
    title = "review"
    parameter_name = "review"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [(value, str(label)) for value, label in Ad.Review.choices]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Ad]) -> QuerySet[Ad]:
        return queryset.filter(review_state=self.value()) if self.value() else queryset


@admin.register(Ad)
class AdReviewAdmin(AuditedModelAdmin):
    """The ad-ops queue: open with ?review=pending (the default link in the changelist)."""

    action_form = ReasonActionForm
    actions = ["approve_ads", "reject_ads"]
    list_display = (
        "name",
        "display_name",
        "org",
        "review_state",
        "submitted_at",
        "restricted_category",
        "landing_url",
    )
    list_filter = (ReviewStateFilter, "restricted_category")
    list_select_related = ("ad_group__campaign__org",)
    search_fields = ("name", "display_name", "landing_url")
    ordering = ("submitted_at", "id")
    readonly_fields = (
        "ad_group",
        "name",
        "status",
        "asset",
        "display_name",
        "cta",
        "landing_url",
        "landing_final_url",
        "redirect_disclosed",
        "restricted_category",
        "review_state",
        "review_reasons",
        "review_notes",
        "checks",
        "submitted_at",
        "reviewed_at",
        "reviewed_by",
    )
    exclude = ("review_checks",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Advertiser")
    def org(self, obj: Ad) -> str:
        return obj.ad_group.campaign.org.name

    @admin.display(description="Automated checks")
    def checks(self, obj: Ad) -> str:
        return format_html_join(
            "",
            "<div>{}: {}</div>",
            (
                (c.get("check", "?"), ", ".join(f"{k}={v}" for k, v in c.items() if k != "check"))
                for c in obj.review_checks or []
            ),
        )

    def has_review_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("ads.change_ad"))

    def _decide(self, request: HttpRequest, queryset: QuerySet[Ad], approve: bool) -> None:
        reason = action_reason(request)
        if not approve and not reason:
            self.message_user(
                request,
                "Write the reason the advertiser will read (the reason box) to reject.",
                messages.ERROR,
            )
            return
        done, refused = 0, []
        for ad in queryset.order_by("pk"):
            try:
                if approve:
                    review.ad_approve(
                        actor=request.user, ad_id=ad.pk, note=reason, ip=request_ip(request)
                    )
                else:
                    review.ad_reject(
                        actor=request.user, ad_id=ad.pk, reasons=[reason], ip=request_ip(request)
                    )
                done += 1
            except ApplicationError as exc:
                refused.append(f"{ad.name}: {exc.message}")
        if done:
            self.message_user(
                request,
                f"{'Approved' if approve else 'Rejected'} {done} ad(s); the advertisers are told.",
                messages.SUCCESS,
            )
        for line in refused:
            self.message_user(request, f"Refused {line}", messages.ERROR)

    @admin.action(description="Approve the selected ads (optional note)", permissions=["review"])
    def approve_ads(self, request: HttpRequest, queryset: QuerySet[Ad]) -> None:
        self._decide(request, queryset, approve=True)

    @admin.action(
        description="Reject the selected ads (the reason is shown to the advertiser)",
        permissions=["review"],
    )
    def reject_ads(self, request: HttpRequest, queryset: QuerySet[Ad]) -> None:
        self._decide(request, queryset, approve=False)


@admin.register(BlockedDomain)
class BlockedDomainAdmin(AuditedModelAdmin):
    list_display = ("domain", "reason", "created_at")
    search_fields = ("domain",)
    readonly_fields = ("created_by",)

    def save_model(self, request: HttpRequest, obj: BlockedDomain, form: Any, change: bool) -> None:
        obj.domain = obj.domain.strip().lower().rstrip(".").removeprefix("www.")
        if not change:
            obj.created_by = request.user  # type: ignore[assignment]
        super().save_model(request, obj, form, change)


class _ReadOnly(AuditedModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AdvertiserOrg)
class AdvertiserOrgAdmin(_ReadOnly):
    list_display = ("name", "country", "currency", "status", "created_at")
    search_fields = ("name",)


@admin.register(Campaign)
class CampaignAdmin(_ReadOnly):
    list_display = (
        "name",
        "org",
        "objective",
        "budget_kind",
        "budget_micros",
        "status",
        "start_at",
        "end_at",
    )
    list_select_related = ("org",)
    list_filter = ("status", "objective")


@admin.register(CustomAudience)
class CustomAudienceAdmin(_ReadOnly):
    list_display = ("name", "org", "state", "uploaded_count", "matched_count")
    list_select_related = ("org",)
    exclude = ("members",)
