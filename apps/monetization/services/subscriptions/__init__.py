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

from apps.monetization.services.subscriptions._common import (
    EXPIRING_NOTICE,
    GRACE,
    MAX_ACTIVE_TIERS,
    PURPOSE_PREFIX,
    RETRY_AFTER,
    SUBSCRIPTION_NOT_FOUND,
    TIER_CURRENCIES,
    TIER_NOT_FOUND,
    new_key,
    period_end,
    price_words,
)
from apps.monetization.services.subscriptions.choices import cancel, on_blocked, resume
from apps.monetization.services.subscriptions.events import on_payment_event
from apps.monetization.services.subscriptions.renewal import renew_subscriptions
from apps.monetization.services.subscriptions.subscribe import subscribe
from apps.monetization.services.subscriptions.tiers import tier_create, tier_update

__all__ = [
    "EXPIRING_NOTICE",
    "GRACE",
    "MAX_ACTIVE_TIERS",
    "PURPOSE_PREFIX",
    "RETRY_AFTER",
    "SUBSCRIPTION_NOT_FOUND",
    "TIER_CURRENCIES",
    "TIER_NOT_FOUND",
    "cancel",
    "new_key",
    "on_blocked",
    "on_payment_event",
    "period_end",
    "price_words",
    "renew_subscriptions",
    "resume",
    "subscribe",
    "tier_create",
    "tier_update",
]
