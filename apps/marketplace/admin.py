"""Marketplace staff pages: deals (read-only, with their thread) and the disputes queue.

A dispute is decided with one of three actions (the creator paid in full, half, or nothing:
the rest back to the brand); the reason box is what both sides read on the deal, required.
Each decision goes through `services.deals.dispute_resolve` (one audit row, the ledger's
settlement under the deal's row lock)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import request_ip
from apps.core.errors import ApplicationError
from apps.marketplace.models import CreatorProfile, Deal, DealMessage
from apps.marketplace.services import deals


class DealMessageInline(admin.TabularInline):  # type: ignore[type-arg]
    model = DealMessage
    extra = 0
    can_delete = False
    fields = ("created_at", "side", "author", "body")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Deal)
class DealAdmin(AuditedModelAdmin):
    action_form = ReasonActionForm
    actions = ["pay_creator_in_full", "split_half", "refund_brand"]
    list_display = ("title", "org", "creator", "state", "fee_minor", "disputed_by", "updated_at")
    list_filter = ("state",)
    list_select_related = ("org", "creator")
    search_fields = ("title", "creator__username", "org__name")
    inlines = [DealMessageInline]
    readonly_fields = [f.name for f in Deal._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_decide_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("marketplace.change_deal"))

    def _decide(self, request: HttpRequest, queryset: QuerySet[Deal], creator_bps: int) -> None:
        reason = action_reason(request)
        if not reason:
            self.message_user(
                request,
                "Write the reason both sides will read (the reason box) to decide a dispute.",
                messages.ERROR,
            )
            return
        for deal in queryset.order_by("pk"):
            try:
                deals.dispute_resolve(
                    staff=request.user,
                    deal_id=deal.pk,
                    creator_bps=creator_bps,
                    reason=reason,
                    ip=request_ip(request),
                )
                self.message_user(
                    request, f"Decided “{deal.title}”; both sides are told.", messages.SUCCESS
                )
            except ApplicationError as exc:
                self.message_user(request, f"Refused “{deal.title}”: {exc.message}", messages.ERROR)

    @admin.action(description="Dispute: pay the creator in full", permissions=["decide"])
    def pay_creator_in_full(self, request: HttpRequest, queryset: QuerySet[Deal]) -> None:
        self._decide(request, queryset, 10_000)

    @admin.action(
        description="Dispute: half to the creator, half back to the brand", permissions=["decide"]
    )
    def split_half(self, request: HttpRequest, queryset: QuerySet[Deal]) -> None:
        self._decide(request, queryset, 5_000)

    @admin.action(description="Dispute: refund the brand in full", permissions=["decide"])
    def refund_brand(self, request: HttpRequest, queryset: QuerySet[Deal]) -> None:
        self._decide(request, queryset, 0)


@admin.register(CreatorProfile)
class CreatorProfileAdmin(AuditedModelAdmin):
    list_display = ("user", "status", "followers", "engagement_bp", "rate_post_minor")
    list_filter = ("status",)
    search_fields = ("user__username",)
    readonly_fields = [f.name for f in CreatorProfile._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
