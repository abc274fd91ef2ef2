"""Risk signals that hold a payout for finance review, and the payout velocity limits.

Read from the ledger (who funded a creator's earnings is on it: a gift's or tip's set
debits the sender's coin wallet and credits the creator's earnings), from accounts' devices,
and from `AccountChange`. Counted in PostgreSQL (money paths never depend on Redis).

Signals (each has a code and the words finance staff read in the queue):
- `gifting_ring`: in the last 30 days, at least half of the creator's gift and tip earnings
  (and at least RING_MIN_MICROS) came from accounts that the creator gifted too, or that
  logged in from one of the creator's devices or IP addresses.
- `earnings_spike`: the last 7 days' earnings are at least SPIKE_MIN_MICROS and at least
  SPIKE_FACTOR times the weekly average of the 8 weeks before.
- `account_changed`: the password or the e-mail address changed in the last
  RECENT_CHANGE (a taken-over account is emptied right after its password is changed).
- `new_senders`: in the last 30 days, at least half of the creator's gift and tip earnings
  (and at least RING_MIN_MICROS) came from accounts younger than NEW_SENDER_AGE. Coins
  bought with a stolen card are spent from fresh accounts; paid out before the card's
  owner disputes, the clawback finds no earnings left and the platform loses (the
  negative-balance rule of services/chargebacks.py). Held, finance can wait for disputes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import OuterRef, Q, Subquery, Sum
from django.utils import timezone

from apps.accounts.models import Device, User
from apps.monetization.eligibility import Refusal
from apps.monetization.models import AccountChange, PayoutRequest
from apps.payments.models import LedgerAccount, Transfer

RING_WINDOW = timedelta(days=30)
RING_SHARE = 0.5
RING_MIN_MICROS = 5_000_000  # $5
SPIKE_WINDOW = timedelta(days=7)
SPIKE_BASELINE_WEEKS = 8
SPIKE_FACTOR = 5
SPIKE_MIN_MICROS = 50_000_000  # $50
RECENT_CHANGE = timedelta(hours=72)
NEW_SENDER_AGE = timedelta(days=30)
NEW_SENDER_SHARE = 0.5
# Payout velocity: requests of any outcome count (a refused one was still an attempt).
PAYOUTS_PER_DAY = 1
PAYOUTS_PER_30_DAYS = 4


@dataclass(frozen=True)
class Signal:
    code: str
    words: str

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "words": self.words}


def _earnings_credits(creator_ids: Iterable[int], since: datetime,
                      until: datetime | None = None) -> Q:
    # What was earned: credits to earnings or to earnings clearing, not the release of a
    # cleared share from the one to the other (it would count the same money twice).
    rule = (Q(credit_account__kind__in=[LedgerAccount.Kind.EARNINGS,
                                        LedgerAccount.Kind.EARNINGS_CLEARING],
              credit_account__owner_id__in=list(creator_ids), created_at__gte=since)
            & ~Q(debit_account__kind=LedgerAccount.Kind.EARNINGS_CLEARING))
    return rule & Q(created_at__lt=until) if until is not None else rule


def _sender_of_set() -> Subquery:
    """The owner of the coin wallet a transfer's set debits (the sender of a gift or tip)."""
    return Subquery(Transfer.objects.filter(set_id=OuterRef("set_id"),
                                            debit_account__kind=LedgerAccount.Kind.WALLET)
                    .values("debit_account__owner_id")[:1])


def earnings_by_sender(creator_id: int, since: datetime) -> dict[int, int]:
    """Micros of the creator's earnings since `since`, by the account whose coins paid."""
    rows = (Transfer.objects.filter(_earnings_credits([creator_id], since))
            .annotate(sender=_sender_of_set()).filter(sender__isnull=False)
            .values("sender").annotate(total=Sum("amount")))
    return {int(row["sender"]): int(row["total"]) for row in rows}


def _gifted_back(creator_id: int, senders: list[int], since: datetime) -> set[int]:
    """Those of `senders` whose earnings the creator's own coins funded since `since`."""
    rows = (Transfer.objects.filter(_earnings_credits(senders, since))
            .annotate(sender=_sender_of_set()).filter(sender=creator_id)
            .values_list("credit_account__owner_id", flat=True).distinct())
    return {int(pk) for pk in rows}


def _sharing_devices(creator_id: int, senders: list[int]) -> set[int]:
    mine = Device.objects.filter(user_id=creator_id)
    identifiers = [i for i in mine.values_list("device_identifier", flat=True) if i]
    ips = [ip for ip in mine.values_list("ip", flat=True) if ip]
    if not identifiers and not ips:
        return set()
    shared = Q(device_identifier__in=identifiers) if identifiers else Q(pk__in=[])
    if ips:
        shared |= Q(ip__in=ips)
    return set(Device.objects.filter(shared, user_id__in=senders)
               .values_list("user_id", flat=True).distinct())


def gifting_ring(creator_id: int, now: datetime, by_sender: dict[int, int]) -> Signal | None:
    total = sum(by_sender.values())
    if total < RING_MIN_MICROS:
        return None
    senders = list(by_sender)
    suspects = _gifted_back(creator_id, senders, now - RING_WINDOW) | _sharing_devices(
        creator_id, senders)
    from_suspects = sum(by_sender[s] for s in suspects if s in by_sender)
    if from_suspects < total * RING_SHARE:
        return None
    share = round(100 * from_suspects / total)
    return Signal("gifting_ring",
                  f"{share}% of the last 30 days' gift and tip earnings came from "
                  f"{len(suspects)} account(s) that this creator gifted too or that share "
                  "a device or IP address with them.")


def earnings_spike(creator_id: int, now: datetime) -> Signal | None:
    start = now - SPIKE_WINDOW
    recent = (Transfer.objects.filter(_earnings_credits([creator_id], start))
              .aggregate(total=Sum("amount"))["total"] or 0)
    if recent < SPIKE_MIN_MICROS:
        return None
    before = (Transfer.objects.filter(_earnings_credits(
        [creator_id], start - SPIKE_WINDOW * SPIKE_BASELINE_WEEKS, start))
        .aggregate(total=Sum("amount"))["total"] or 0)
    weekly = before / SPIKE_BASELINE_WEEKS
    if recent < SPIKE_FACTOR * weekly:
        return None
    return Signal("earnings_spike",
                  f"Earnings of the last 7 days (${recent / 1_000_000:,.2f}) are "
                  f"{'new' if not weekly else f'{recent / weekly:,.1f}x the weekly average'}"
                  " of the 8 weeks before.")


def new_senders(now: datetime, by_sender: dict[int, int]) -> Signal | None:
    total = sum(by_sender.values())
    if total < RING_MIN_MICROS:
        return None
    young = set(User.objects.filter(pk__in=list(by_sender),
                                    date_joined__gt=now - NEW_SENDER_AGE)
                .values_list("pk", flat=True))
    from_young = sum(by_sender[s] for s in young)
    if not young or from_young < total * NEW_SENDER_SHARE:
        return None
    share = round(100 * from_young / total)
    return Signal("new_senders",
                  f"{share}% of the last 30 days' gift and tip earnings came from "
                  f"{len(young)} account(s) younger than {NEW_SENDER_AGE.days} days: coins "
                  "bought with a stolen card are spent from new accounts, and a dispute "
                  "after this payout could no longer take the earnings back.")


def recent_account_change(user_id: int, now: datetime) -> Signal | None:
    change = (AccountChange.objects.filter(user_id=user_id, created_at__gte=now - RECENT_CHANGE)
              .order_by("-created_at").first())
    if change is None:
        return None
    hours = max(1, round((now - change.created_at).total_seconds() / 3600))
    what = "password" if change.kind == AccountChange.Kind.PASSWORD else "e-mail address"
    return Signal("account_changed",
                  f"The account's {what} changed about {hours} hour(s) before this payout.")


def payout_risk_signals(user_id: int, *, now: datetime | None = None) -> list[Signal]:
    now = now or timezone.now()
    # the last RING_WINDOW's earnings by sender, read once for the two signals made of them
    by_sender = earnings_by_sender(user_id, now - RING_WINDOW)
    found = (gifting_ring(user_id, now, by_sender), earnings_spike(user_id, now),
             new_senders(now, by_sender), recent_account_change(user_id, now))
    return [signal for signal in found if signal is not None]


def payout_velocity_refusal(user_id: int, *, now: datetime | None = None) -> Refusal | None:
    now = now or timezone.now()
    mine = PayoutRequest.objects.filter(user_id=user_id)
    if mine.filter(created_at__gte=now - timedelta(days=1)).count() >= PAYOUTS_PER_DAY:
        return Refusal("payout_velocity", "You can request one payout a day. Try again "
                       "tomorrow.", status=429)
    if mine.filter(created_at__gte=now - timedelta(days=30)).count() >= PAYOUTS_PER_30_DAYS:
        return Refusal("payout_velocity", f"You can request {PAYOUTS_PER_30_DAYS} payouts in "
                       "30 days. Try again later.", status=429)
    return None


def account_changed(*, user_id: int, kind: str) -> None:
    """Record a password or e-mail change (accounts' security hook, allauth's signals)."""
    AccountChange.objects.create(user_id=user_id, kind=kind)
