"""Telling people about subscriptions, through apps.notifications (types registered from
`MonetizationConfig.ready()` via `register_types`):

- `new_subscriber`, to the creator: "maya subscribed to you" (grouped per day: "maya and 3
  others subscribed to you"), the tier and price in the body;
- `subscription_billing`, to the subscriber: a first payment that failed, a renewal that
  failed (when it is retried, until when access is kept), a subscription that ended, and a
  cancelled one about to end. Each event has its own key (subscription, what, period,
  attempt), so a task run twice tells once.

The words are made when the task runs, from the subscription's row as it is then."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.monetization.models.subscriptions import Subscription
from apps.notifications import services as notifications
from apps.notifications import types
from apps.notifications.services import Candidate, texts


def _when(moment: Any) -> str:
    return f"{moment:%b} {moment.day}, {moment:%Y}" if moment is not None else "soon"


def _new_subscriber_words(row: Any, names: Mapping[int, str]) -> tuple[str, str]:
    who = texts.who(row, names)
    several = row.actor_count > 1
    body = f"{'Latest: ' if several else ''}{row.data.get('tier', '')} " \
           f"({row.data.get('price', '')})"
    return f"{who} subscribed to you", " ".join(body.split())


NEW_SUBSCRIBER = types.NotificationType(
    "new_subscriber", "New subscribers", group_window=types.DAY,
    words=_new_subscriber_words,
    defaults={types.Channel.IN_APP: True, types.Channel.PUSH: True,
              types.Channel.EMAIL: False})
SUBSCRIPTION_BILLING = types.NotificationType(
    "subscription_billing", "Payments for your subscriptions", words=types.stored_words(""),
    defaults={types.Channel.IN_APP: True, types.Channel.PUSH: True,
              types.Channel.EMAIL: True})


def register_types() -> None:
    types.register(NEW_SUBSCRIBER)
    types.register(SUBSCRIPTION_BILLING)


def billing_words(subscription: Subscription, what: str) -> tuple[str, str]:
    """(title, body) for the subscriber, in words."""
    creator = f"@{subscription.creator.username}"
    why = subscription.last_failure or "The payment did not go through."
    if what == "first_payment_failed":
        return (f"Your subscription to {creator} didn't start",
                f"{why} Nothing was charged. You can subscribe again with another card.")
    if what == "renewal_failed":
        if subscription.next_retry_at is not None:
            return (f"We couldn't renew your subscription to {creator}",
                    f"{why} We'll try again on {_when(subscription.next_retry_at)}; you keep "
                    f"access until {_when(subscription.grace_until)}.")
        return (f"We couldn't renew your subscription to {creator}",
                f"{why} We won't try again: your subscription ends on "
                f"{_when(subscription.grace_until)}. Subscribe again with another card to "
                "keep access.")
    if what == "expired":
        return (f"Your subscription to {creator} has ended",
                f"We couldn't take the payment ({why}), so it ended. Subscribe again any "
                "time.")
    if what == "expiring":
        return (f"Your subscription to {creator} ends soon",
                f"You cancelled it; your access ends on "
                f"{_when(subscription.current_period_end)}. Resume it under Your "
                "subscriptions to keep it.")
    raise ValueError(f"unknown subscription notice {what!r}")


def notify(subscription_id: int, what: str, period: int, attempt: int) -> int:
    from apps.monetization.services.subscriptions import price_words

    subscription = (Subscription.objects.select_related("creator", "tier")
                    .filter(pk=subscription_id).first())
    if subscription is None:
        return 0
    key = f"subscription:{subscription.pk}:{what}:{period}:{attempt}"
    if what == "new_subscriber":
        candidate = Candidate(
            subscription.creator_id, NEW_SUBSCRIBER.name, key,
            actor_id=subscription.subscriber_id, target_type="user",
            target_id=subscription.creator_id,
            group_key=f"new_subscriber:{subscription.creator_id}",
            data={"tier": subscription.tier.name,
                  "price": price_words(subscription.price_minor, subscription.currency)})
    else:
        title, body = billing_words(subscription, what)
        candidate = Candidate(
            subscription.subscriber_id, SUBSCRIPTION_BILLING.name, key,
            target_type="user", target_id=subscription.creator_id,
            data={"title": title, "body": body, "what": what})
    return len(notifications.notify([candidate]))
