"""Staff admin for coins, gifts and tips: the packs and the gift catalogue (edited here,
audited), the revenue share per source (finance staff, audited), purchases, sends and
clawbacks (read-only: money moves only through the services), and the spending bars a
chargeback sets (lifted by an audited action with a reason)."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.accounts.models import User
from apps.core.admin import AuditedModelAdmin, ReasonActionForm, ViewOnlyAdmin, action_reason
from apps.monetization.models import (
    Clawback,
    CoinPack,
    CoinPurchase,
    EarningsClearing,
    Gift,
    GiftSend,
    RevenueShare,
    SpendingBar,
)
from apps.monetization.services.chargebacks import spending_bar_lift


@admin.register(CoinPack)
class CoinPackAdmin(AuditedModelAdmin):
    list_display = ("name", "coins", "price_minor", "currency", "active", "sort")
    list_editable = ("active", "sort")


@admin.register(Gift)
class GiftAdmin(AuditedModelAdmin):
    list_display = ("emoji", "name", "coins", "animation", "active", "sort")
    list_display_links = ("name",)
    list_editable = ("active", "sort")


@admin.register(RevenueShare)
class RevenueShareAdmin(AuditedModelAdmin):
    list_display = ("source", "creator_bps", "clearing_days", "updated_at")
    list_editable = ("creator_bps", "clearing_days")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The source is the row's primary key: edited, the form would save onto another
        # source's row (the gift row's form overwriting the tip share).
        return ("source",) if obj is not None else ()

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a source always has a share


@admin.register(EarningsClearing)
class EarningsClearingAdmin(ViewOnlyAdmin):
    """Creators' shares waiting for their clearing period (services/clearing.py): read-only,
    the beat task releases them; a chargeback meanwhile takes from them first."""

    list_display = ("source_key", "creator", "source", "amount_micros", "clawed_micros",
                    "clears_at", "released_at")
    list_filter = ("source", ("released_at", admin.EmptyFieldListFilter))
    search_fields = ("=source_key", "=creator__username")


@admin.register(CoinPurchase)
class CoinPurchaseAdmin(ViewOnlyAdmin):
    list_display = ("id", "user", "coins", "price_minor", "currency", "status", "created_at")
    list_filter = ("status",)
    search_fields = ("=id", "=user__username")


@admin.register(GiftSend)
class GiftSendAdmin(ViewOnlyAdmin):
    list_display = ("id", "kind", "sender", "recipient", "coins", "clawed_coins", "created_at")
    list_filter = ("kind",)
    search_fields = ("=id", "=sender__username", "=recipient__username")


@admin.register(Clawback)
class ClawbackAdmin(ViewOnlyAdmin):
    list_display = ("purchase", "event", "coins", "wallet_coins", "earnings_micros",
                    "clearing_micros", "loss_micros", "created_at")
    list_filter = ("event",)


@admin.register(SpendingBar)
class SpendingBarAdmin(ViewOnlyAdmin):
    list_display = ("user", "reason", "purchase", "created_at", "lifted_at", "lifted_by")
    list_filter = (("lifted_at", admin.EmptyFieldListFilter),)
    action_form = ReasonActionForm
    actions = ["lift"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return bool(request.user.has_perm("monetization.change_spendingbar"))

    @admin.action(description="Lift: allow buying and spending coins again")
    def lift(self, request: HttpRequest, queryset: QuerySet[SpendingBar]) -> None:
        reason = action_reason(request)
        if not reason:
            self.message_user(request, "Say why in the reason box.", messages.ERROR)
            return
        assert isinstance(request.user, User)
        for bar in queryset:
            spending_bar_lift(bar=bar, actor=request.user, reason=reason)
        self.message_user(request, f"Lifted {queryset.count()} bar(s).")
