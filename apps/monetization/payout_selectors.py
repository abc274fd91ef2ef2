"""Reads for earnings, payouts, KYC and tax forms (the API and the pages share them).

Earnings come from the ledger: a creator's share of each gift, tip and subscription payment
(the set's `code` is the source) is credited to their earnings clearing account and moves
to their earnings account when its clearing period ends (services/clearing.py); payouts and
chargeback clawbacks debit them. History by source and day sums the credits to either
account (not the move between them); the balance, what is clearing and what payouts hold
are the accounts' maintained columns (O(1)), the clearing days one grouped read."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.analytics.selectors import creator_summary_for
from apps.core.errors import NotFoundError
from apps.monetization import eligibility, fraud
from apps.monetization.models import KycDocument, KycProfile, PayoutRequest
from apps.monetization.services.clearing import RELEASE_CODE, Clearing, clearing_of
from apps.monetization.services.gifts import earnings_of
from apps.monetization.services.kyc import STATE_WORDS, kyc_profile_for
from apps.monetization.services.tax import TaxFormSummary, active_tax_form, tax_form_summary
from apps.payments.models import LedgerAccount, Transfer
from apps.payments.money import format_money, to_minor

CURRENCY = "USD"
PERIODS = {"7d": 7, "28d": 28}
PAYOUT_NOT_FOUND = "Payout not found."
# The ledger set codes that pay a creator, and what the pages call them.
SOURCES = {"gift": "Gifts", "tip": "Tips", "subscription": "Subscriptions"}


@dataclass
class EarningsSummary:
    currency: str
    available_micros: int  # may be paid out now
    pending_micros: int  # held by payouts on their way
    clearing: Clearing  # earned, not payable yet (with the days it clears)
    owed_micros: int  # owed from disputes of earnings already paid out (repaid first)
    paid_out_micros: int  # payouts the provider confirmed, all time
    period_days: int
    since: date
    until: date
    period_micros: int
    by_source: dict[str, int]  # source code -> micros in the period
    daily: list[dict[str, Any]] = field(default_factory=list)  # {"day", source..., "total"}

    def money(self, micros: int) -> str:
        return format_money(micros, self.currency)


def earnings_summary(creator_id: int, *, days: int = 28, today: date | None = None,
                     with_paid_out: bool = True) -> EarningsSummary:
    """A fixed number of queries (1 to 3), whatever the history; an account is not created
    by reading it."""
    accounts = {a.kind: a for a in LedgerAccount.objects.filter(
        kind__in=[LedgerAccount.Kind.EARNINGS, LedgerAccount.Kind.EARNINGS_CLEARING,
                  LedgerAccount.Kind.EARNINGS_OWED],
        owner_id=creator_id, asset=CURRENCY)}
    account = accounts.get(LedgerAccount.Kind.EARNINGS)
    in_clearing = accounts.get(LedgerAccount.Kind.EARNINGS_CLEARING)
    owed = accounts.pop(LedgerAccount.Kind.EARNINGS_OWED, None)  # a receivable: not earned
    today = today or timezone.now().astimezone(UTC).date()
    since = today - timedelta(days=days - 1)
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    rows = [] if not accounts else (
        Transfer.objects.filter(credit_account_id__in=[a.pk for a in accounts.values()],
                                created_at__gte=start)
        .exclude(set__code=RELEASE_CODE)  # the move from clearing to earnings: no new money
        .annotate(day=TruncDate("created_at", tzinfo=UTC))
        .values("day", "set__code").annotate(total=Sum("amount")))
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    by_source: dict[str, int] = dict.fromkeys(SOURCES, 0)
    for row in rows:
        source = row["set__code"] if row["set__code"] in SOURCES else "other"
        per_day[row["day"]][source] += int(row["total"])
        by_source[source] = by_source.get(source, 0) + int(row["total"])
    daily = []
    for offset in range(days):
        day = since + timedelta(days=offset)
        amounts = per_day.get(day, {})
        daily.append({"day": day, **{s: amounts.get(s, 0) for s in by_source},
                      "total": sum(amounts.values())})
    paid = 0
    if account is not None and with_paid_out:
        # posted payout holds, and a payout posted late after its hold expired
        paid = (Transfer.objects.filter(debit_account=account, set__code="payout",
                                        set__phase__in=["post_pending", "posted"])
                .aggregate(t=Sum("amount"))["t"] or 0)
    return EarningsSummary(
        currency=CURRENCY, available_micros=account.available if account else 0,
        pending_micros=account.debits_pending if account else 0, paid_out_micros=int(paid),
        owed_micros=max(0, -owed.balance) if owed is not None else 0,
        clearing=(clearing_of(creator_id) if in_clearing is not None and in_clearing.balance
                  else Clearing(total_micros=0, by_day=[])),
        period_days=days,
        since=since, until=today, period_micros=sum(by_source.values()), by_source=by_source,
        daily=daily)


def rpm_micros(period_micros: int, views: int) -> int | None:
    """Revenue per 1,000 views (None without views)."""
    return None if views <= 0 else period_micros * 1000 // views


def payouts_of(user_id: int) -> QuerySet[PayoutRequest]:
    return PayoutRequest.objects.filter(user_id=user_id).order_by("-id")


def get_payout_for(user_id: int, payout_id: int) -> PayoutRequest:
    """The user's own payout; anyone else's is a 404 (never told apart from a missing one)."""
    found = PayoutRequest.objects.filter(pk=payout_id, user_id=user_id).first()
    if found is None:
        raise NotFoundError(PAYOUT_NOT_FOUND)
    return found


def kyc_documents_of(user_id: int) -> QuerySet[KycDocument]:
    return KycDocument.objects.filter(user_id=user_id).order_by("id")


@dataclass
class PayoutStatus:
    """What /settings/payouts and GET /payouts/status show: each requirement in words."""

    kyc: KycProfile
    kyc_words: str
    documents: list[KycDocument]
    tax_form: TaxFormSummary | None
    available_micros: int
    pending_micros: int
    clearing: Clearing
    minimum_minor: int
    can_request: bool
    refusal: str  # why not, in words ("" when a payout can be requested)
    refusal_code: str
    payouts: list[PayoutRequest]

    @property
    def available_minor(self) -> int:
        return to_minor(self.available_micros, CURRENCY)

    @property
    def clearing_minor(self) -> int:
        return to_minor(self.clearing.total_micros, CURRENCY)


def payout_status(user: Any, *, minimum_minor: int) -> PayoutStatus:
    profile = kyc_profile_for(user.pk)
    form = active_tax_form(user.pk)
    account = earnings_of(user.pk)
    available = account.available
    waiting = clearing_of(user.pk)
    refusal = (eligibility.may_request_payout(user) or fraud.payout_velocity_refusal(user.pk)
               or eligibility.payout_amount_refusal(amount_minor=max(minimum_minor, 1),
                                                    available_micros=available,
                                                    clearing=waiting))
    words = STATE_WORDS[KycProfile.State(profile.state)]
    return PayoutStatus(
        kyc=profile, kyc_words=words, documents=list(kyc_documents_of(user.pk)),
        tax_form=tax_form_summary(form) if form is not None else None,
        available_micros=available, pending_micros=account.debits_pending, clearing=waiting,
        minimum_minor=minimum_minor, can_request=refusal is None,
        refusal="" if refusal is None else refusal.message,
        refusal_code="" if refusal is None else refusal.code,
        payouts=list(payouts_of(user.pk)[:20]))


def _cents(micros: int) -> int:
    return to_minor(micros, CURRENCY)


def earnings_payload(creator_id: int, period: str) -> dict[str, Any]:
    """The earnings answer (the API's, and the page's JSON for its chart)."""
    days = PERIODS[period]
    summary = earnings_summary(creator_id, days=days)
    views = creator_summary_for(creator_id=creator_id, days=days).views
    rpm = rpm_micros(summary.period_micros, views)
    return {
        "currency": summary.currency, "period": period, "since": summary.since,
        "until": summary.until, "available_minor": _cents(summary.available_micros),
        "pending_minor": _cents(summary.pending_micros),
        "clearing_minor": _cents(summary.clearing.total_micros),
        "owed_minor": _cents(summary.owed_micros),
        "clearing_next_on": summary.clearing.next_day,
        "clearing_next_minor": _cents(summary.clearing.next_micros),
        "paid_out_minor": _cents(summary.paid_out_micros),
        "period_minor": _cents(summary.period_micros),
        "by_source": {k: _cents(v) for k, v in summary.by_source.items()},
        "views": views, "rpm_minor": None if rpm is None else _cents(rpm),
        "daily": [{"day": d["day"], "gift_minor": _cents(d.get("gift", 0)),
                   "tip_minor": _cents(d.get("tip", 0)),
                   "subscription_minor": _cents(d.get("subscription", 0)),
                   "total_minor": _cents(d["total"])} for d in summary.daily],
    }


def analytics_earnings(*, creator_id: int, days: int, views: int) -> dict[str, Any]:
    """analytics' `creator_earnings` hook: the creator's share earned in the period and RPM
    (the analytics API and page show them)."""
    summary = earnings_summary(creator_id, days=days, with_paid_out=False)
    rpm = rpm_micros(summary.period_micros, views)
    return {"available": True, "message": "", "currency": CURRENCY,
            "earned_minor": to_minor(summary.period_micros, CURRENCY),
            "rpm_minor": None if rpm is None else to_minor(rpm, CURRENCY)}
