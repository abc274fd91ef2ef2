"""Reads of subscriptions: a creator's tiers as others see them, one's own tiers and
subscriptions, a viewer's live subscription to a creator (the profile's button) and who
subscribes (badges read `social.Membership` through social's selectors)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import QuerySet

from apps.accounts.models import User
from apps.core.errors import NotFoundError
from apps.monetization.models.subscriptions import Subscription, SubscriptionTier
from apps.monetization.services.subscriptions import SUBSCRIPTION_NOT_FOUND
from apps.social.selectors import get_profile_for


@dataclass(frozen=True)
class CreatorTiers:
    creator: User
    tiers: list[SubscriptionTier]
    subscription: Subscription | None  # the viewer's live one, if any


def tiers_for(viewer: User | None, *, username: str) -> CreatorTiers:
    """A creator's tiers on offer, cheapest first, as `viewer` may see them: 404 for an
    account the viewer may not see (unknown, not discoverable, blocked either way)."""
    creator = get_profile_for(viewer, username=username).user
    tiers = list(SubscriptionTier.objects.filter(creator_id=creator.pk, active=True)
                 .order_by("price_minor", "id"))
    mine = None
    if viewer is not None and viewer.pk != creator.pk:
        mine = live_subscription(subscriber_id=viewer.pk, creator_id=creator.pk)
    return CreatorTiers(creator=creator, tiers=tiers, subscription=mine)


def own_tiers(creator: User) -> QuerySet[SubscriptionTier]:
    """A creator's tiers, on offer first, then archived; cheapest first."""
    return SubscriptionTier.objects.filter(creator_id=creator.pk).order_by(
        "-active", "price_minor", "id")


def live_subscription(*, subscriber_id: int, creator_id: int) -> Subscription | None:
    return (Subscription.objects.filter(subscriber_id=subscriber_id, creator_id=creator_id,
                                        status__in=Subscription.LIVE)
            .select_related("tier").first())


def subscriptions_of(user: User) -> QuerySet[Subscription]:
    """One's subscriptions, newest first (ended ones too: the page shows why they ended)."""
    return (Subscription.objects.filter(subscriber_id=user.pk)
            .select_related("creator", "tier").order_by("-id"))


def get_subscription_for(user: User, *, subscription_id: int) -> Subscription:
    found = subscriptions_of(user).filter(pk=subscription_id).first()
    if found is None:
        raise NotFoundError(SUBSCRIPTION_NOT_FOUND)
    return found


def subscriber_count(creator_id: int) -> int:
    return Subscription.objects.filter(
        creator_id=creator_id,
        status__in=[Subscription.Status.ACTIVE, Subscription.Status.PAST_DUE]).count()


def _day(moment: object) -> str:
    from datetime import datetime

    return f"{moment:%b} {moment.day}, {moment:%Y}" if isinstance(moment, datetime) else "soon"


def status_words(subscription: Subscription) -> str:
    """Where a subscription stands, in words (the API's `status_text`, the pages)."""
    from apps.monetization.services.subscriptions import price_words

    price = price_words(subscription.price_minor, subscription.currency)
    status = subscription.status
    why = subscription.last_failure
    if status == Subscription.Status.INCOMPLETE:
        return "Waiting for the provider to confirm your first payment."
    if status == Subscription.Status.ACTIVE:
        if subscription.cancel_at_period_end:
            lead = f"{why} " if why else ""
            return (f"{lead}Cancelled: your access ends on "
                    f"{_day(subscription.current_period_end)}.")
        return f"Renews on {_day(subscription.current_period_end)} ({price})."
    if status == Subscription.Status.PAST_DUE:
        if subscription.next_retry_at is not None:
            return (f"Your last payment failed: {why} We'll try again on "
                    f"{_day(subscription.next_retry_at)}; you keep access until "
                    f"{_day(subscription.grace_until)}.")
        return (f"Your payments failed: {why} Your access ends on "
                f"{_day(subscription.grace_until)}.")
    if status == Subscription.Status.CANCELLED:
        return f"Cancelled; ended on {_day(subscription.ended_at)}."
    return f"Ended on {_day(subscription.ended_at)}: {why or 'the payment failed.'}"


def offers_tiers(creator_id: int) -> bool:
    """The creator has a tier on offer (their profile shows a Subscribe button)."""
    return SubscriptionTier.objects.filter(creator_id=creator_id, active=True).exists()
