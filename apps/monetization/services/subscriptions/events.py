"""The provider's word (payments' `payment_event` hook): a charge settled, failed or taken back."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.monetization.models.gifts import RevenueShare
from apps.monetization.models.subscriptions import (
    Subscription,
    SubscriptionCharge,
)
from apps.monetization.services import clawback_holds, clearing
from apps.monetization.services.gifts import revenue_share_bps
from apps.monetization.services.subscriptions._common import (
    GRACE,
    PURPOSE_PREFIX,
    RETRY_AFTER,
    _sync_membership,
    _tell,
    period_end,
)
from apps.payments.hooks import PaymentEvent
from apps.payments.models import LedgerAccount, TransferSet
from apps.payments.money import to_micros
from apps.payments.services import ledger
from apps.social import services as social_services

logger = logging.getLogger(__name__)

def on_payment_event(*, event: PaymentEvent) -> None:
    """payments.hooks.payment_event: settle a subscription charge (others' purposes are
    ignored). Runs in the webhook's transaction, once per provider event; a charge already
    settled is left alone, so a replay changes nothing."""
    if not event.purpose.startswith(PURPOSE_PREFIX):
        return
    try:
        charge_id = int(event.purpose.removeprefix(PURPOSE_PREFIX))
    except ValueError:
        logger.warning("subscription payment event with a bad purpose %r", event.purpose)
        return
    subscription_id = (SubscriptionCharge.objects.filter(pk=charge_id)
                       .values_list("subscription_id", flat=True).first())
    if subscription_id is None:
        return
    with transaction.atomic():
        # the subscription first, then its charge: the renewal task locks in that order
        subscription = Subscription.objects.select_for_update().get(pk=subscription_id)
        charge = SubscriptionCharge.objects.select_for_update().get(pk=charge_id)
        if event.kind == "succeeded":
            _charge_succeeded(subscription, charge, now=timezone.now())
        elif event.kind == "failed":
            _charge_failed(subscription, charge, reason=event.reason, now=timezone.now())
        elif event.kind in ("refunded", "disputed"):
            _claw_back(subscription, charge, event)
            _charge_taken_back(subscription, charge, kind=event.kind, now=timezone.now())
        elif event.kind == "dispute_won":
            _return_claw(charge)


def _book(subscription: Subscription, charge: SubscriptionCharge) -> None:
    """The monetization design's legs: provider clearing → the creator's earnings
    clearing account (their share, payable after the subscriptions' clearing period: a card
    payment can be disputed like a coin purchase; services/clearing.py), provider clearing
    → platform revenue (the rest)."""
    gross = to_micros(charge.amount_minor, charge.currency)
    bps = revenue_share_bps(RevenueShare.Source.SUBSCRIPTION)
    days = clearing.clearing_days(RevenueShare.Source.SUBSCRIPTION)
    creator_part = gross * bps // 10_000
    provider = ledger.platform_account(LedgerAccount.Kind.PROVIDER_CLEARING, charge.currency,
                                       subscription.creator_id)
    legs = []
    if creator_part > 0:
        legs.append(ledger.Leg(provider, clearing.share_account(subscription.creator_id,
                                                                days=days),
                               creator_part, "subscription_share"))
    if gross - creator_part > 0:
        legs.append(ledger.Leg(provider, ledger.platform_account(
            LedgerAccount.Kind.PLATFORM_REVENUE, charge.currency, subscription.creator_id),
            gross - creator_part, "subscription_fee"))
    ledger.post_transfers(
        key=f"subscription_charge:{charge.pk}", code="subscription", legs=legs,
        memo=f"subscription {subscription.pk} period {charge.period}",
        metadata={"subscription_id": str(subscription.pk), "charge_id": str(charge.pk),
                  "period": charge.period, "creator_bps": bps})
    clearing.clearing_open(creator_id=subscription.creator_id,
                           source=RevenueShare.Source.SUBSCRIPTION,
                           source_key=f"subscription_charge:{charge.pk}", micros=creator_part,
                           days=days)


def _charge_succeeded(subscription: Subscription, charge: SubscriptionCharge, *,
                      now: datetime) -> None:
    if charge.status != SubscriptionCharge.Status.PENDING:
        return
    charge.status, charge.settled_at = SubscriptionCharge.Status.SUCCEEDED, now
    charge.save(update_fields=["status", "settled_at"])
    _book(subscription, charge)  # the money was taken: it is booked whatever follows
    if subscription.status not in Subscription.LIVE or \
            charge.period != subscription.periods_paid + 1:
        logger.error("subscription %s: charge %s paid while %s (period %s of %s paid)",
                     subscription.pk, charge.pk, subscription.status, charge.period,
                     subscription.periods_paid)
        return
    first = subscription.anchor is None
    if first:
        subscription.anchor = now
    assert subscription.anchor is not None
    subscription.periods_paid = charge.period
    subscription.current_period_start = period_end(subscription.anchor, charge.period - 1)
    subscription.current_period_end = period_end(subscription.anchor, charge.period)
    subscription.status = Subscription.Status.ACTIVE
    subscription.retry_count, subscription.next_retry_at = 0, None
    subscription.grace_until, subscription.last_failure = None, ""
    subscription.save()
    _sync_membership(subscription)
    if first:
        _tell(subscription, "new_subscriber")


def _charge_failed(subscription: Subscription, charge: SubscriptionCharge, *, reason: str,
                   now: datetime) -> None:
    if charge.status != SubscriptionCharge.Status.PENDING:
        return
    reason = (reason or "The payment did not go through.")[:255]
    charge.status, charge.settled_at, charge.failure_reason = (
        SubscriptionCharge.Status.FAILED, now, reason)
    charge.save(update_fields=["status", "settled_at", "failure_reason"])
    subscription.last_failure = reason
    if subscription.status == Subscription.Status.INCOMPLETE:
        subscription.status, subscription.ended_at = Subscription.Status.EXPIRED, now
        subscription.save()
        _tell(subscription, "first_payment_failed")
        return
    if subscription.status not in Subscription.LIVE:
        subscription.save()
        return
    assert subscription.current_period_end is not None
    subscription.status = Subscription.Status.PAST_DUE
    subscription.retry_count = charge.attempt + 1
    subscription.grace_until = subscription.current_period_end + GRACE
    if subscription.retry_count <= len(RETRY_AFTER):
        subscription.next_retry_at = max(
            now, subscription.current_period_end + RETRY_AFTER[subscription.retry_count - 1])
    else:
        subscription.next_retry_at = None  # no more tries: it ends with the grace
    subscription.save()
    _sync_membership(subscription)
    _tell(subscription, "renewal_failed")


def _charge_taken_back(subscription: Subscription, charge: SubscriptionCharge, *, kind: str,
                       now: datetime) -> None:
    """A refunded or disputed subscription payment ends the subscription and its access
    at once (the money's side is the chargeback rules', services/chargebacks)."""
    if subscription.status in Subscription.LIVE:
        subscription.status, subscription.ended_at = Subscription.Status.EXPIRED, now
        subscription.next_retry_at = None
        subscription.last_failure = ("The payment was refunded." if kind == "refunded"
                                     else "The payment was disputed.")
        subscription.save()
        social_services.membership_end(member_id=subscription.subscriber_id,
                                       creator_id=subscription.creator_id)


def _clawed_micros(charge: SubscriptionCharge) -> int:
    return sum(int(m.get("gross_back", 0)) for m in TransferSet.objects.filter(
        code="subscription_takeback", metadata__charge_id=str(charge.pk),
    ).exclude(reversals__isnull=False).values_list("metadata", flat=True))


def _claw_back(subscription: Subscription, charge: SubscriptionCharge,
               event: PaymentEvent) -> None:
    """Money given back to the subscriber (a refund) or taken by the card's issuer (a
    dispute) takes back what the charge booked, in the same proportions: the creator's share
    from what still clears, then their unpaid earnings (what is available: never below
    zero, never a held payout), the platform's from its revenue. What the creator no longer
    has is, for a dispute, owed by them (`earnings_owed`, repaid from their next released
    earnings, as for coins: services/chargebacks.py), and for a refund we chose to give, a
    platform loss on the chargebacks account. Never more than the charge booked, across
    refunds and disputes; each provider event once (its key)."""
    if charge.status != SubscriptionCharge.Status.SUCCEEDED:
        return  # nothing was booked
    booked = TransferSet.objects.filter(key=f"subscription_charge:{charge.pk}").first()
    if booked is None:
        return
    asked = (event.refund_amount_minor or event.amount_refunded_minor
             if event.kind == "refunded" else event.amount_refunded_minor or charge.amount_minor)
    gross = to_micros(charge.amount_minor, charge.currency)
    back = min(to_micros(asked, charge.currency), gross - _clawed_micros(charge))
    if back <= 0:
        return
    bps = int(booked.metadata.get("creator_bps", 0))
    creator_back = back * bps // 10_000
    spread = subscription.creator_id
    provider = ledger.platform_account(LedgerAccount.Kind.PROVIDER_CLEARING, charge.currency,
                                       spread)
    legs = []
    # First from the share still clearing (its row locked: the release waits), then from
    # the available earnings.
    row = clearing.lock_open([booked.key]).get(booked.key)
    from_clearing = min(creator_back, row.left_micros) if row is not None else 0
    if from_clearing:
        legs.append(ledger.Leg(clearing.clearing_account_of(subscription.creator_id), provider,
                               from_clearing, "subscription_clawback_clearing"))
    earnings = ledger.account_for(LedgerAccount.Kind.EARNINGS, owner_id=subscription.creator_id,
                                  asset=charge.currency)
    earnings.refresh_from_db()
    recovered = from_clearing + max(0, min(creator_back - from_clearing, earnings.available))
    if recovered - from_clearing:
        legs.append(ledger.Leg(earnings, provider, recovered - from_clearing,
                               "subscription_clawback"))
    if back - creator_back:
        legs.append(ledger.Leg(ledger.platform_account(
            LedgerAccount.Kind.PLATFORM_REVENUE, charge.currency, spread), provider,
            back - creator_back, "subscription_fee_back"))
    short = creator_back - recovered
    # (earnings are kept in one asset: a charge in another books a loss, as before)
    owed = short if event.kind == "disputed" and charge.currency == clearing.ASSET else 0
    if owed:
        legs.append(ledger.Leg(clearing.owed_account_of(subscription.creator_id), provider,
                               owed, "claw_owed"))
    elif short:
        legs.append(ledger.Leg(ledger.platform_account(
            LedgerAccount.Kind.CHARGEBACKS, charge.currency, spread), provider,
            short, "chargeback_loss"))
    key = f"subscription_takeback:{charge.pk}:{event.provider_event_id or event.kind}"
    if TransferSet.objects.filter(key=key).exists():
        return  # this event's takeback is booked (and its clearing row updated) already
    ledger.post_transfers(
        key=key, code="subscription_takeback", legs=legs,
        memo=f"subscription {subscription.pk} period {charge.period}: {event.kind}",
        metadata={"charge_id": str(charge.pk), "kind": event.kind, "gross_back": back,
                  "recovered": recovered, "loss": short - owed, "owed": owed,
                  "creator_id": str(subscription.creator_id),
                  "clearing": [[str(row.pk), from_clearing]] if from_clearing and row else []})
    if from_clearing and row is not None:
        clearing.take([(row.pk, from_clearing)])
    if owed:
        clawback_holds.tell_owed({subscription.creator_id: owed}, key=key)


def _return_claw(charge: SubscriptionCharge) -> None:
    """A dispute the platform won: the money is back, so what the dispute took is returned
    (a reversal, never an edit). The subscription stays ended."""
    for taken in TransferSet.objects.filter(
            code="subscription_takeback", metadata__charge_id=str(charge.pk),
            metadata__kind="disputed", reversals__isnull=True):
        ledger.reverse(key=f"subscription_dispute_won:{taken.pk}", original=taken,
                       memo=f"dispute won for subscription charge {charge.pk}")
        clearing.give_back([(int(i), n) for i, n in taken.metadata.get("clearing", [])],
                           key=f"subscription_dispute_won:{taken.pk}:cleared")
        if taken.metadata.get("owed"):  # the debt is cancelled; what was repaid returns
            clearing.owed_settled([int(taken.metadata["creator_id"])],
                                  key=f"subscription_dispute_won:{taken.pk}:owed")
