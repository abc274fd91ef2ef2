"""Subscriptions to creators: tiers, subscribe, confirmation, renewal, retries, grace,
cancellation (docs/architecture.md, "Payments and monetization" → Subscriptions).

Money moves only on the provider's word: `subscribe` and each renewal create a
`SubscriptionCharge` and ask `payments.start_payment`; `on_payment_event` (registered on
`payments.hooks.payment_event`, run inside the webhook's transaction) settles the charge:
the ledger legs (provider_clearing → the creator's earnings, their share; the rest →
platform revenue), the period, the membership that lets the subscriber see
subscriber-only posts (`social.Membership`, through social's services), and the words
the people concerned are told.

Periods are whole calendar months from the first payment (`anchor`). The renewal task
(`renew_subscriptions`, beat) charges off-session with the saved payment method. A renewal
period is charged once: its charge row is unique (subscription, period, attempt) and the
provider's idempotency key is built from it, so a task run twice charges nothing more.
A failed renewal makes the subscription `past_due`: access is kept for `GRACE` after the
period's end, and the charge is retried `RETRY_AFTER` the period's end; when the last retry
failed and the grace is over, it is `expired` and the membership ends. Cancelling stops
renewal: access lasts to the end of the paid period.

Every function that depends on time takes `now=` (tests move time, they never sleep).
"""

from __future__ import annotations

import calendar
import logging
import secrets
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ApplicationError, ConflictError, NotFoundError
from apps.core.idempotency import key_reused
from apps.core.outbox import enqueue_on_commit
from apps.monetization import eligibility
from apps.monetization.models.gifts import RevenueShare
from apps.monetization.models.subscriptions import (
    TIER_MAX_MINOR,
    TIER_MIN_MINOR,
    TIER_NAME_MAX,
    TIER_PERKS_MAX,
    Subscription,
    SubscriptionCharge,
    SubscriptionTier,
)
from apps.monetization.services.gifts import revenue_share_bps
from apps.payments.hooks import PaymentEvent
from apps.payments.models import LedgerAccount, Payment
from apps.payments.money import format_money, to_micros
from apps.payments.providers.base import PaymentRefusedError
from apps.payments.services import ledger
from apps.payments.services import payments as payments_services
from apps.social import services as social_services

logger = logging.getLogger(__name__)

PURPOSE_PREFIX = "subscription:"
# Earnings are kept and paid out in USD (services/gifts.EARNINGS_ASSET), so tiers are priced
# in USD; another supported currency is refused in words, an unknown one as unknown.
TIER_CURRENCIES = ("USD",)
MAX_ACTIVE_TIERS = 5
GRACE = timedelta(days=7)
RETRY_AFTER = (timedelta(days=1), timedelta(days=3), timedelta(days=5))
EXPIRING_NOTICE = timedelta(days=3)
TIER_NOT_FOUND = "Tier not found."
SUBSCRIPTION_NOT_FOUND = "Subscription not found."


def new_key() -> str:
    """A subscribe request's key when the client sent no Idempotency-Key."""
    return secrets.token_urlsafe(18)


def price_words(amount_minor: int, currency: str) -> str:
    return f"{format_money(to_micros(amount_minor, currency), currency)}/month"


def period_end(anchor: datetime, n: int) -> datetime:
    """The end of period n (1-based): n calendar months after the anchor (a 31st anchor
    ends on each month's last day, and comes back to the 31st)."""
    months = anchor.month - 1 + n
    year, month = anchor.year + months // 12, months % 12 + 1
    return anchor.replace(year=year, month=month,
                          day=min(anchor.day, calendar.monthrange(year, month)[1]))


# --- tiers ------------------------------------------------------------------------------------


def _clean_name(name: object) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ApplicationError("Give the tier a name.", code="invalid",
                               fields={"name": ["A name is needed."]})
    cleaned = " ".join(name.split())
    if len(cleaned) > TIER_NAME_MAX:
        raise ApplicationError(f"A tier's name is at most {TIER_NAME_MAX} characters.",
                               code="invalid", fields={"name": ["Too long."]})
    return cleaned


def _clean_perks(perks: object) -> str:
    if not isinstance(perks, str):
        raise ApplicationError("Perks are text.", code="invalid",
                               fields={"perks": ["Text, please."]})
    if len(perks.strip()) > TIER_PERKS_MAX:
        raise ApplicationError(f"Perks are at most {TIER_PERKS_MAX} characters.",
                               code="invalid", fields={"perks": ["Too long."]})
    return perks.strip()


def _clean_price(price_minor: object) -> int:
    low, high = price_words(TIER_MIN_MINOR, "USD"), price_words(TIER_MAX_MINOR, "USD")
    if type(price_minor) is not int or not TIER_MIN_MINOR <= price_minor <= TIER_MAX_MINOR:
        raise ApplicationError(
            f"A monthly price is a whole number of cents from {low} to {high}.",
            code="invalid_amount",
            fields={"price_minor": [f"Whole cents, {TIER_MIN_MINOR} to {TIER_MAX_MINOR}."]})
    return price_minor


def _clean_currency(currency: object) -> str:
    code = payments_services.check_currency(currency)  # unknown → 400 invalid_currency
    if code not in TIER_CURRENCIES:
        raise ApplicationError(
            "Tiers are priced in US dollars for now (earnings are paid out in USD).",
            code="invalid_currency", fields={"currency": ["USD."]})
    return code


def tier_create(*, creator: User, name: object, price_minor: object, currency: object = "USD",
                perks: object = "") -> SubscriptionTier:
    eligibility.require(eligibility.may_offer_subscriptions(creator))
    values = {"name": _clean_name(name), "price_minor": _clean_price(price_minor),
              "currency": _clean_currency(currency), "perks": _clean_perks(perks)}
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=creator.pk).first()  # counts one at a time
        if SubscriptionTier.objects.filter(creator_id=creator.pk, active=True).count() \
                >= MAX_ACTIVE_TIERS:
            raise ConflictError(f"You can offer at most {MAX_ACTIVE_TIERS} tiers at once; "
                                "archive one first.", code="too_many_tiers")
        return SubscriptionTier.objects.create(creator_id=creator.pk, **values)


def tier_update(*, creator: User, tier_id: int, **changes: object) -> SubscriptionTier:
    """Change a tier of one's own (another's is a 404). A new price is for new subscribers;
    current ones keep the price they agreed to. `active=False` archives it."""
    with transaction.atomic():
        tier = (SubscriptionTier.objects.select_for_update()
                .filter(pk=tier_id, creator_id=creator.pk).first())
        if tier is None:
            raise NotFoundError(TIER_NOT_FOUND)
        unknown = set(changes) - {"name", "price_minor", "currency", "perks", "active"}
        if unknown:
            raise ApplicationError("Unknown fields.", code="invalid",
                                   fields={name: ["Not a tier field."] for name in unknown})
        if "name" in changes:
            tier.name = _clean_name(changes["name"])
        if "price_minor" in changes:
            tier.price_minor = _clean_price(changes["price_minor"])
        if "currency" in changes:
            tier.currency = _clean_currency(changes["currency"])
        if "perks" in changes:
            tier.perks = _clean_perks(changes["perks"])
        if "active" in changes:
            active = changes["active"]
            if not isinstance(active, bool):
                raise ApplicationError("`active` is true or false.", code="invalid",
                                       fields={"active": ["true or false."]})
            if active and not tier.active:
                eligibility.require(eligibility.may_offer_subscriptions(creator))
                if SubscriptionTier.objects.filter(creator_id=creator.pk, active=True).count() \
                        >= MAX_ACTIVE_TIERS:
                    raise ConflictError(f"You can offer at most {MAX_ACTIVE_TIERS} tiers at "
                                        "once; archive one first.", code="too_many_tiers")
            tier.active = active
        tier.save()
        return tier


# --- subscribe --------------------------------------------------------------------------------


def _check_method(payment_method: object) -> str:
    if not isinstance(payment_method, str) or not payment_method.strip() \
            or len(payment_method) > 64:
        raise ApplicationError("Choose a payment method (card) to subscribe with.",
                               code="invalid", fields={"payment_method": ["Needed."]})
    return payment_method.strip()


def subscribe(*, subscriber: User, tier_id: int, payment_method: object, key: str,
              return_url: str = "") -> tuple[Subscription, Payment]:
    """Start a subscription to the tier's creator and ask the provider for the first
    month. Nothing is granted yet: the provider's confirmation (webhook) activates it.
    The same `key` again answers the same subscription and payment."""
    method = _check_method(payment_method)
    existing = Subscription.objects.filter(key=key).first()
    if existing is not None:
        if existing.subscriber_id != subscriber.pk or existing.tier_id != tier_id \
                or existing.payment_method != method:
            raise key_reused()
        return existing, _first_payment(existing)
    tier = (SubscriptionTier.objects.select_related("creator")
            .filter(pk=tier_id, active=True).first())
    if tier is None:
        raise NotFoundError(TIER_NOT_FOUND)
    creator = tier.creator
    eligibility.require(eligibility.may_subscribe(subscriber, creator))
    try:
        with transaction.atomic():
            subscription = Subscription.objects.create(
                subscriber_id=subscriber.pk, creator_id=creator.pk, tier=tier,
                price_minor=tier.price_minor, currency=tier.currency, key=key,
                payment_method=method)
            charge = SubscriptionCharge.objects.create(
                subscription=subscription, period=1, attempt=0,
                amount_minor=tier.price_minor, currency=tier.currency)
            payment = _start(charge, subscription, off_session=False, return_url=return_url)
    except IntegrityError:
        again = Subscription.objects.filter(key=key).first()
        if again is not None:  # the same request, concurrently
            return again, _first_payment(again)
        raise ConflictError(f"You already subscribe to @{creator.username} (or your first "
                            "payment is still being confirmed).",
                            code="already_subscribed") from None
    return subscription, payment


def _first_payment(subscription: Subscription) -> Payment:
    charge = (SubscriptionCharge.objects.select_related("payment")
              .filter(subscription=subscription, period=1).order_by("attempt").first())
    assert charge is not None
    assert charge.payment is not None
    return charge.payment


def _start(charge: SubscriptionCharge, subscription: Subscription, *, off_session: bool,
           return_url: str = "") -> Payment:
    payment = payments_services.start_payment(
        user_id=subscription.subscriber_id, amount_minor=charge.amount_minor,
        currency=charge.currency, purpose=f"{PURPOSE_PREFIX}{charge.pk}",
        key=f"subscription:{subscription.pk}:{charge.period}:{charge.attempt}",
        payment_method=subscription.payment_method, off_session=off_session,
        return_url=return_url)
    charge.payment = payment
    charge.save(update_fields=["payment"])
    return payment


# --- the provider's word ----------------------------------------------------------------------


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
            _charge_taken_back(subscription, charge, kind=event.kind, now=timezone.now())


def _book(subscription: Subscription, charge: SubscriptionCharge) -> None:
    """The monetization design's legs: clearing → creator's earnings (their share),
    clearing → platform revenue (the rest)."""
    gross = to_micros(charge.amount_minor, charge.currency)
    bps = revenue_share_bps(RevenueShare.Source.SUBSCRIPTION)
    creator_part = gross * bps // 10_000
    clearing = ledger.platform_account(LedgerAccount.Kind.PROVIDER_CLEARING, charge.currency,
                                       subscription.creator_id)
    legs = []
    if creator_part > 0:
        legs.append(ledger.Leg(clearing, ledger.account_for(
            LedgerAccount.Kind.EARNINGS, owner_id=subscription.creator_id,
            asset=charge.currency), creator_part, "subscription_share"))
    if gross - creator_part > 0:
        legs.append(ledger.Leg(clearing, ledger.platform_account(
            LedgerAccount.Kind.PLATFORM_REVENUE, charge.currency, subscription.creator_id),
            gross - creator_part, "subscription_fee"))
    ledger.post_transfers(
        key=f"subscription_charge:{charge.pk}", code="subscription", legs=legs,
        memo=f"subscription {subscription.pk} period {charge.period}",
        metadata={"subscription_id": str(subscription.pk), "charge_id": str(charge.pk),
                  "period": charge.period, "creator_bps": bps})


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


def _sync_membership(subscription: Subscription) -> None:
    """What the subscriber may see follows the subscription's state: while it renews,
    through the period and its grace (a renewal being charged never cuts access); once
    cancelled, to the end of the paid period; past due, to the end of the grace."""
    member, creator = subscription.subscriber_id, subscription.creator_id
    end = subscription.current_period_end
    if subscription.status == Subscription.Status.ACTIVE and end is not None:
        until = end if subscription.cancel_at_period_end else end + GRACE
        social_services.membership_grant(member_id=member, creator_id=creator, until=until)
    elif subscription.status == Subscription.Status.PAST_DUE and subscription.grace_until:
        social_services.membership_grant(member_id=member, creator_id=creator,
                                         until=subscription.grace_until)
    elif subscription.status not in Subscription.LIVE:
        social_services.membership_end(member_id=member, creator_id=creator)


# --- renewal, retries, ends (the beat task) ---------------------------------------------------


def renew_subscriptions(*, now: datetime | None = None, batch_size: int = 500) -> dict[str, int]:
    """Charge what is due (renewals and retries), end what was cancelled at its period's
    end or ran out of grace, and warn of a cancelled subscription ending soon. Safe to run
    twice or concurrently: each subscription is handled under its row lock and each
    period's attempt is charged once."""
    now = now or timezone.now()
    done = {"charged": 0, "ended": 0, "expired": 0, "warned": 0}
    due = (Subscription.objects.filter(status=Subscription.Status.ACTIVE,
                                       cancel_at_period_end=False,
                                       current_period_end__lte=now)
           | Subscription.objects.filter(status=Subscription.Status.PAST_DUE,
                                         next_retry_at__lte=now))
    for pk in due.order_by("pk").values_list("pk", flat=True)[:batch_size]:
        done["charged"] += _charge_next(pk, now=now)
    ending = Subscription.objects.filter(status=Subscription.Status.ACTIVE,
                                         cancel_at_period_end=True, current_period_end__lte=now)
    for pk in ending.order_by("pk").values_list("pk", flat=True)[:batch_size]:
        done["ended"] += _end(pk, now=now, status=Subscription.Status.CANCELLED)
    out_of_grace = Subscription.objects.filter(status=Subscription.Status.PAST_DUE,
                                               next_retry_at__isnull=True, grace_until__lte=now)
    for pk in out_of_grace.order_by("pk").values_list("pk", flat=True)[:batch_size]:
        done["expired"] += _end(pk, now=now, status=Subscription.Status.EXPIRED)
    expiring = Subscription.objects.filter(
        status=Subscription.Status.ACTIVE, cancel_at_period_end=True,
        current_period_end__gt=now, current_period_end__lte=now + EXPIRING_NOTICE)
    for subscription in expiring.order_by("pk")[:batch_size]:
        _tell(subscription, "expiring")  # once per period: the notice's key says which
        done["warned"] += 1
    return done


def _charge_next(subscription_id: int, *, now: datetime) -> int:
    with transaction.atomic():
        subscription = (Subscription.objects.select_for_update(skip_locked=True)
                        .filter(pk=subscription_id).first())
        if subscription is None:  # another run holds it
            return 0
        renewing = (subscription.status == Subscription.Status.ACTIVE
                    and not subscription.cancel_at_period_end
                    and subscription.current_period_end is not None
                    and subscription.current_period_end <= now)
        retrying = (subscription.status == Subscription.Status.PAST_DUE
                    and subscription.next_retry_at is not None
                    and subscription.next_retry_at <= now)
        if not (renewing or retrying):
            return 0
        period = subscription.periods_paid + 1
        attempt = subscription.retry_count
        if SubscriptionCharge.objects.filter(subscription=subscription, period=period).filter(
                attempt__gte=attempt).exists() or SubscriptionCharge.objects.filter(
                subscription=subscription, status=SubscriptionCharge.Status.PENDING).exists():
            return 0  # this attempt was made (a second run of the task): nothing more
        refusal = eligibility.may_subscribe(subscription.subscriber, subscription.creator)
        if refusal is not None:
            # not charged (a block, a ban, the subscriber now barred...): it ends with the
            # paid period, the subscriber told why
            subscription.cancel_at_period_end, subscription.cancelled_at = True, now
            subscription.last_failure = refusal.message
            subscription.next_retry_at = None
            if subscription.status == Subscription.Status.PAST_DUE:
                subscription.grace_until = now
            subscription.save()
            _sync_membership(subscription)
            return 0
        charge = SubscriptionCharge.objects.create(
            subscription=subscription, period=period, attempt=attempt,
            amount_minor=subscription.price_minor, currency=subscription.currency)
        subscription.next_retry_at = None  # the answer to this charge sets the next one
        subscription.save(update_fields=["next_retry_at", "updated_at"])
        try:
            with transaction.atomic():
                _start(charge, subscription, off_session=True)
        except PaymentRefusedError as exc:  # refused before it was tried (a bad token)
            _charge_failed(subscription, charge, reason=str(exc.message), now=now)
        return 1


def _end(subscription_id: int, *, now: datetime, status: str) -> int:
    with transaction.atomic():
        subscription = (Subscription.objects.select_for_update(skip_locked=True)
                        .filter(pk=subscription_id).first())
        if subscription is None or subscription.status not in (
                Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE):
            return 0
        if SubscriptionCharge.objects.filter(subscription=subscription,
                                             status=SubscriptionCharge.Status.PENDING).exists():
            return 0  # a payment is on its way: its answer decides
        subscription.status, subscription.ended_at = status, now
        subscription.next_retry_at = None
        subscription.save()
        _sync_membership(subscription)
        if status == Subscription.Status.EXPIRED:
            _tell(subscription, "expired")
        return 1


# --- the subscriber's choices -----------------------------------------------------------------


def _own_locked(subscriber: User, subscription_id: int) -> Subscription:
    subscription = (Subscription.objects.select_for_update()
                    .filter(pk=subscription_id, subscriber_id=subscriber.pk).first())
    if subscription is None:
        raise NotFoundError(SUBSCRIPTION_NOT_FOUND)
    return subscription


def cancel(*, subscriber: User, subscription_id: int,
           now: datetime | None = None) -> Subscription:
    """Stop renewing. An active subscription keeps its access to the end of the paid
    period; a past-due one (nothing paid for the current month) ends now. Idempotent."""
    now = now or timezone.now()
    with transaction.atomic():
        subscription = _own_locked(subscriber, subscription_id)
        if subscription.status == Subscription.Status.INCOMPLETE:
            raise ConflictError("Your first payment is still being confirmed; you can cancel "
                                "once it has gone through.", code="payment_in_progress")
        if subscription.status == Subscription.Status.ACTIVE:
            if not subscription.cancel_at_period_end:
                subscription.cancel_at_period_end, subscription.cancelled_at = True, now
                subscription.save()
        elif subscription.status == Subscription.Status.PAST_DUE:
            if SubscriptionCharge.objects.filter(
                    subscription=subscription,
                    status=SubscriptionCharge.Status.PENDING).exists():
                raise ConflictError("A payment for this subscription is being made right "
                                    "now; try again in a minute.", code="payment_in_progress")
            subscription.status = Subscription.Status.CANCELLED
            subscription.cancelled_at = subscription.ended_at = now
            subscription.next_retry_at = None
            subscription.save()
        _sync_membership(subscription)
        return subscription


def resume(*, subscriber: User, subscription_id: int,
           now: datetime | None = None) -> Subscription:
    """Undo a cancellation before the period ends (renewal goes on as before)."""
    now = now or timezone.now()
    with transaction.atomic():
        subscription = _own_locked(subscriber, subscription_id)
        if subscription.status != Subscription.Status.ACTIVE or \
                not subscription.cancel_at_period_end:
            raise ConflictError("Only a cancelled subscription whose paid month is not over "
                                "can be resumed.", code="not_resumable")
        eligibility.require(eligibility.may_subscribe(subscriber, _user(subscription.creator_id)))
        subscription.cancel_at_period_end, subscription.cancelled_at = False, None
        subscription.last_failure = ""
        subscription.save()
        _sync_membership(subscription)
        return subscription


def _user(user_id: int) -> User:
    return User.objects.get(pk=user_id)


def on_blocked(*, blocker_id: int, blocked_id: int) -> None:
    """social's blocked hook: a block either way stops renewal of a subscription between
    the two (the visibility rule already hides the posts)."""
    live = Subscription.objects.filter(
        subscriber_id__in=[blocker_id, blocked_id], creator_id__in=[blocker_id, blocked_id],
        status=Subscription.Status.ACTIVE, cancel_at_period_end=False)
    for pk in live.values_list("pk", flat=True):
        subscription = Subscription.objects.select_for_update().get(pk=pk)
        subscription.cancel_at_period_end, subscription.cancelled_at = True, timezone.now()
        subscription.save()
        _sync_membership(subscription)


# --- telling people ---------------------------------------------------------------------------


def _tell(subscription: Subscription, what: str) -> None:
    from apps.monetization.tasks import notify_subscription

    enqueue_on_commit(notify_subscription, str(subscription.pk), what,
                      subscription.periods_paid, subscription.retry_count)
