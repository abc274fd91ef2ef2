"""The finance admin of the ledger: accounts with their balances, transfer sets with their
transfers, holds, and the reconciliation runs. Everything is read-only (transfers are
immutable in the database); the only writes are new sets made by the actions — reverse a
posted set, post or void a hold — each with a required reason, posted as the staff member,
and recorded in the audit trail in the same transaction. A reconciliation run that found
differences is shown as an error banner on every ledger page until a clean run follows."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import record_audit, request_ip
from apps.core.errors import ApplicationError
from apps.payments import selectors
from apps.payments.models.ledger import LedgerAccount, ReconciliationRun, Transfer, TransferSet
from apps.payments.money import SUPPORTED_CURRENCIES, format_money
from apps.payments.services import ledger


def _money(amount: int, asset: str) -> str:
    if asset == "COIN" or asset in SUPPORTED_CURRENCIES:
        return format_money(amount, asset)
    return f"{amount} {asset}"


class LedgerAdmin(AuditedModelAdmin):
    """Read-only, with the reconciliation alert on top of the list."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest,
                        extra_context: dict[str, Any] | None = None) -> HttpResponse:
        run = selectors.latest_reconciliation()
        if run is not None and run.finished_at is not None and run.differences:
            url = reverse("admin:payments_reconciliationrun_change", args=[run.pk])
            messages.error(request, format_html(
                'Ledger reconciliation of {} found {} differences between the balances and '
                'the transfers: <a href="{}">see the run</a>.',
                f"{run.started_at:%Y-%m-%d %H:%M}", run.differences, url))
        return super().changelist_view(request, extra_context)


@admin.register(LedgerAccount)
class LedgerAccountAdmin(LedgerAdmin):
    list_display = ("id", "kind", "owner_id", "asset", "shard", "balance_shown",
                    "available_shown", "pending_out", "pending_in", "no_negative")
    list_filter = ("kind", "asset", "no_negative")
    search_fields = ("=id", "=owner__id", "owner__username")
    ordering = ("kind", "asset", "owner_id", "shard")
    show_full_result_count = False
    readonly_fields = ("kind", "owner_id", "asset", "shard", "no_negative", "balance_shown",
                       "available_shown", "debits_posted", "credits_posted", "debits_pending",
                       "credits_pending", "transfers_link", "created_at")
    fields = readonly_fields

    @admin.display(description="balance")
    def balance_shown(self, account: LedgerAccount) -> str:
        return _money(account.balance, account.asset)

    @admin.display(description="available")
    def available_shown(self, account: LedgerAccount) -> str:
        return _money(account.available, account.asset)

    @admin.display(description="held (out)")
    def pending_out(self, account: LedgerAccount) -> str:
        return _money(account.debits_pending, account.asset)

    @admin.display(description="pending (in)")
    def pending_in(self, account: LedgerAccount) -> str:
        return _money(account.credits_pending, account.asset)

    @admin.display(description="transfers")
    def transfers_link(self, account: LedgerAccount) -> str:
        url = reverse("admin:payments_transfer_changelist")
        return format_html('<a href="{}?q={}">transfers of this account</a>', url, account.pk)


class TransferInline(admin.TabularInline):  # type: ignore[type-arg]
    model = Transfer
    extra = 0
    can_delete = False
    ordering = ("id",)
    fields = ("debit_account", "credit_account", "asset", "amount", "amount_shown", "code")
    readonly_fields = fields

    @admin.display(description="amount")
    def amount_shown(self, transfer: Transfer) -> str:
        return _money(transfer.amount, transfer.asset)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HoldFilter(admin.SimpleListFilter):
    title = "hold"
    parameter_name = "hold"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("open", "Open holds"), ("expired", "Open, past their timeout")]

    def queryset(self, request: HttpRequest,
                 queryset: QuerySet[TransferSet]) -> QuerySet[TransferSet]:
        if self.value() == "open":
            return queryset.filter(phase=TransferSet.Phase.PENDING, resolution__isnull=True)
        if self.value() == "expired":
            return queryset.filter(pk__in=ledger.expired_holds().values("pk"))
        return queryset


@admin.register(TransferSet)
class TransferSetAdmin(LedgerAdmin):
    list_display = ("id", "created_at", "code", "phase", "key", "memo", "state")
    list_filter = ("phase", HoldFilter, "code")
    search_fields = ("=id", "key", "memo")
    ordering = ("-id",)
    date_hierarchy = "created_at"
    show_full_result_count = False
    readonly_fields = ("key", "code", "phase", "state", "pending_of", "timeout_at",
                       "reversal_of", "memo", "metadata", "created_by_id", "created_at",
                       "fingerprint")
    fields = readonly_fields
    inlines = (TransferInline,)
    actions = ("reverse_sets", "post_holds", "void_holds")
    action_form = ReasonActionForm

    def get_queryset(self, request: HttpRequest) -> QuerySet[TransferSet]:
        return super().get_queryset(request).select_related("resolution").prefetch_related(
            "reversals")

    @admin.display(description="state")
    def state(self, entry: TransferSet) -> str:
        if entry.phase == TransferSet.Phase.PENDING:
            resolution = getattr(entry, "resolution", None)
            if resolution is not None:
                return "posted" if resolution.phase == TransferSet.Phase.POST_PENDING \
                    else "voided"
            return "held until " + (f"{entry.timeout_at:%Y-%m-%d %H:%M}"
                                    if entry.timeout_at else "?")
        reversals = list(entry.reversals.all())
        return f"reversed by {reversals[0].pk}" if reversals else ""

    def has_finance_permission(self, request: HttpRequest) -> bool:
        """Reverse, post and void: staff with the ledger's change permission."""
        return bool(request.user.has_perm("payments.change_transferset"))

    def _act(self, request: HttpRequest, queryset: QuerySet[TransferSet], verb: str,
             done: str) -> None:
        reason = action_reason(request)
        if not reason:
            self.message_user(request, f"Say why (the reason box) to {verb} a transfer set.",
                              messages.ERROR)
            return
        ok, refused = 0, []
        for entry in queryset.order_by("pk"):
            try:
                with transaction.atomic():
                    made = self._apply(request, entry, verb, reason)
                    record_audit(actor=request.user, action=f"payments.ledger_{verb}",
                                 target=entry, reason=reason, ip=request_ip(request),
                                 result_set=str(made.pk))
                ok += 1
            except ApplicationError as exc:
                refused.append(f"{entry.pk}: {exc}")
        if ok:
            self.message_user(request, f"{done} {ok} transfer set(s).", messages.SUCCESS)
        for line in refused:
            self.message_user(request, f"Refused {line}", messages.ERROR)

    def _apply(self, request: HttpRequest, entry: TransferSet, verb: str,
               reason: str) -> TransferSet:
        by = int(request.user.pk) if request.user.pk is not None else None
        if verb == "reverse":
            return ledger.reverse(key=f"admin-reverse:{entry.pk}", original=entry,
                                  memo=reason, created_by_id=by)
        if entry.phase != TransferSet.Phase.PENDING:
            raise ApplicationError("Only a pending transfer can be posted or voided.")
        resolve = ledger.post_pending if verb == "post" else ledger.void_pending
        return resolve(key=f"admin-{verb}:{entry.pk}", pending=entry, memo=reason,
                       created_by_id=by)

    @admin.action(description="Reverse the selected posted sets (a new set; reason needed)",
                  permissions=["finance"])
    def reverse_sets(self, request: HttpRequest, queryset: QuerySet[TransferSet]) -> None:
        self._act(request, queryset, "reverse", "Reversed")

    @admin.action(description="Post the selected holds (reason needed)",
                  permissions=["finance"])
    def post_holds(self, request: HttpRequest, queryset: QuerySet[TransferSet]) -> None:
        self._act(request, queryset, "post", "Posted")

    @admin.action(description="Void the selected holds: the amounts return (reason needed)",
                  permissions=["finance"])
    def void_holds(self, request: HttpRequest, queryset: QuerySet[TransferSet]) -> None:
        self._act(request, queryset, "void", "Voided")


@admin.register(Transfer)
class TransferAdmin(LedgerAdmin):
    list_display = ("id", "created_at", "set_id", "code", "debit_account_id",
                    "credit_account_id", "asset", "amount")
    list_filter = ("asset", "code")
    search_fields = ("=id", "=set__id", "=debit_account__id", "=credit_account__id",
                     "set__key")
    ordering = ("-id",)
    show_full_result_count = False
    readonly_fields = ("set", "debit_account", "credit_account", "asset", "amount", "code",
                       "created_at")
    fields = readonly_fields


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(LedgerAdmin):
    list_display = ("started_at", "finished_at", "accounts_checked", "differences", "ok")
    ordering = ("-started_at",)
    readonly_fields = ("started_at", "finished_at", "accounts_checked", "differences",
                       "details")
    fields = readonly_fields

    @admin.display(boolean=True, description="books balance")
    def ok(self, run: ReconciliationRun) -> bool:
        return run.ok
