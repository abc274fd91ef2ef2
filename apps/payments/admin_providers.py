"""The payments we asked providers for, their refunds, payouts and webhook events: read-only
(their statuses change only from verified webhooks). Staff with the payment change
permission may refund a payment (any provider) and, on the local test provider, open or
close a dispute; each action needs a reason and leaves an audit row. What follows arrives by
webhook, as it would from the provider. Registered by PaymentsConfig.ready."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest

from apps.core.admin import ReasonActionForm, ViewOnlyAdmin, action_reason
from apps.core.audit import record_audit, request_ip
from apps.core.errors import ApplicationError
from apps.payments.models import Payment, ProviderEvent, ProviderPayout, Refund
from apps.payments.services import payments


class RefundInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Refund
    extra = 0
    fields = ("created_at", "amount_minor", "status", "reason", "provider_ref", "key")
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ViewOnlyAdmin):
    list_display = ("id", "created_at", "user_id", "provider", "amount_minor", "currency",
                    "status", "amount_refunded_minor", "dispute_status", "purpose")
    list_filter = ("provider", "status", "dispute_status", "currency")
    search_fields = ("=id", "=user_id", "provider_ref", "key", "purpose")
    ordering = ("-id",)
    show_full_result_count = False
    readonly_fields = ("user_id", "provider", "provider_ref", "key", "purpose", "amount_minor",
                       "currency", "payment_method", "off_session", "status",
                       "failure_reason", "next_action_url", "return_url",
                       "amount_refunded_minor", "dispute_status", "created_at", "updated_at",
                       "succeeded_at")
    fields = readonly_fields
    inlines = (RefundInline,)
    actions = ("refund_rest", "open_local_dispute", "close_local_dispute_won",
               "close_local_dispute_lost")
    action_form = ReasonActionForm

    def has_money_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.has_perm("payments.change_payment"))

    def _act(self, request: HttpRequest, queryset: QuerySet[Payment], verb: str,
             done: str) -> None:
        reason = action_reason(request)
        if not reason:
            self.message_user(request, "Say why (the reason box) before this action.",
                              messages.ERROR)
            return
        ok, refused = 0, []
        for payment in queryset.order_by("pk"):
            try:
                with transaction.atomic():
                    self._apply(request, payment, verb, reason)
                    record_audit(actor=request.user, action=f"payments.payment_{verb}",
                                 target=payment, reason=reason, ip=request_ip(request))
                ok += 1
            except ApplicationError as exc:
                refused.append(f"{payment.pk}: {exc.message}")
        if ok:
            self.message_user(request, f"{done} {ok} payment(s); the provider's webhook "
                                       "brings the outcome.", messages.SUCCESS)
        for line in refused:
            self.message_user(request, f"Refused {line}", messages.ERROR)

    def _apply(self, request: HttpRequest, payment: Payment, verb: str, reason: str) -> None:
        if verb == "refund":
            rest = payment.amount_minor - sum(
                payment.refunds.exclude(status=Refund.Status.FAILED)
                .values_list("amount_minor", flat=True))
            if rest <= 0:
                raise ApplicationError("Nothing is left to refund.")
            payments.refund_payment(payment=payment, amount_minor=rest,
                                    key=f"admin-refund:{payment.pk}:{rest}", reason=reason)
        elif verb == "dispute":
            payments.local_open_dispute(payment=payment)
        else:
            payments.local_close_dispute(payment=payment, won=verb == "dispute_won")

    @admin.action(description="Refund what is left of the selected payments (reason needed)",
                  permissions=["money"])
    def refund_rest(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        self._act(request, queryset, "refund", "Asked a refund of")

    @admin.action(description="Local test provider: open a dispute (reason needed)",
                  permissions=["money"])
    def open_local_dispute(self, request: HttpRequest, queryset: QuerySet[Payment]) -> None:
        self._act(request, queryset, "dispute", "Opened a dispute on")

    @admin.action(description="Local test provider: close the dispute as won (reason needed)",
                  permissions=["money"])
    def close_local_dispute_won(self, request: HttpRequest,
                                queryset: QuerySet[Payment]) -> None:
        self._act(request, queryset, "dispute_won", "Closed as won the dispute of")

    @admin.action(description="Local test provider: close the dispute as lost (reason needed)",
                  permissions=["money"])
    def close_local_dispute_lost(self, request: HttpRequest,
                                 queryset: QuerySet[Payment]) -> None:
        self._act(request, queryset, "dispute_lost", "Closed as lost the dispute of")


@admin.register(ProviderPayout)
class ProviderPayoutAdmin(ViewOnlyAdmin):
    list_display = ("id", "created_at", "user_id", "provider", "amount_minor", "currency",
                    "status", "failure_reason", "purpose")
    list_filter = ("provider", "status")
    search_fields = ("=id", "=user_id", "provider_ref", "key", "purpose")
    ordering = ("-id",)


@admin.register(ProviderEvent)
class ProviderEventAdmin(ViewOnlyAdmin):
    list_display = ("received_at", "provider", "type", "event_id", "object_ref", "outcome",
                    "detail")
    list_filter = ("provider", "outcome", "type")
    search_fields = ("event_id", "object_ref")
    ordering = ("-id",)
    readonly_fields = ("provider", "event_id", "type", "object_ref", "outcome", "detail",
                       "received_at", "payload")
    fields = readonly_fields
