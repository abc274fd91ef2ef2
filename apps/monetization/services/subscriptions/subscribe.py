"""Subscribing: a first charge through the provider; active only on its word."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from apps.accounts.models import User
from apps.core.errors import ApplicationError, ConflictError, NotFoundError
from apps.core.idempotency import key_reused
from apps.monetization import eligibility
from apps.monetization.models.subscriptions import (
    Subscription,
    SubscriptionCharge,
    SubscriptionTier,
)
from apps.monetization.services.subscriptions._common import (
    TIER_NOT_FOUND,
    _start,
)
from apps.payments.models import Payment


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
