"""Renewal, retries and ends (the beat task `renew_subscriptions`)."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.monetization import eligibility
from apps.monetization.models.subscriptions import (
    Subscription,
    SubscriptionCharge,
)
from apps.monetization.services.subscriptions._common import (
    EXPIRING_NOTICE,
    _start,
    _sync_membership,
    _tell,
)
from apps.monetization.services.subscriptions.events import (
    _charge_failed,
)
from apps.payments.providers.base import PaymentRefusedError


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
