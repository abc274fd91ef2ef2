"""The subscriber's choices (cancel, resume) and a block ending a subscription."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ConflictError, NotFoundError
from apps.monetization import eligibility
from apps.monetization.models.subscriptions import (
    Subscription,
    SubscriptionCharge,
)
from apps.monetization.services.subscriptions._common import (
    SUBSCRIPTION_NOT_FOUND,
    _sync_membership,
    _user,
)


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
