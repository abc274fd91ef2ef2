"""What the subscription use cases share: the constants, periods, prices in words, the
membership sync, starting a charge, and telling people."""

from __future__ import annotations

import calendar
import secrets
from datetime import datetime, timedelta

from apps.accounts.models import User
from apps.core.outbox import enqueue_on_commit
from apps.monetization.models.subscriptions import (
    Subscription,
    SubscriptionCharge,
)
from apps.payments.models import Payment
from apps.payments.money import format_money, to_micros
from apps.payments.services import payments as payments_services
from apps.social import services as social_services

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


def _user(user_id: int) -> User:
    return User.objects.get(pk=user_id)


def _tell(subscription: Subscription, what: str) -> None:
    from apps.monetization.tasks import notify_subscription

    enqueue_on_commit(notify_subscription, str(subscription.pk), what,
                      subscription.periods_paid, subscription.retry_count)
