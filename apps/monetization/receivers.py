"""Registrations on lower apps' hooks (payments' payment events, content's visibility
questions), made once from `MonetizationConfig.ready()`. Each owner of a module under
apps/monetization adds its own registration here."""

from __future__ import annotations


def connect() -> None:
    from apps.monetization import notices
    from apps.monetization.services import coins
    from apps.payments import hooks as payments_hooks

    notices.register_types()  # gift_received, tip_received
    payments_hooks.payment_event.register(coins.on_payment_event)  # coin purchases
    _connect_subscriptions()


def _connect_subscriptions() -> None:
    """Subscriptions: the provider's word settles their charges; a block stops renewal."""
    from apps.monetization import subscription_notices
    from apps.monetization.services import subscriptions
    from apps.payments import hooks as payments_hooks
    from apps.social.hooks import register_blocked_hook

    subscription_notices.register_types()  # new_subscriber, subscription_billing
    payments_hooks.payment_event.register(subscriptions.on_payment_event)
    register_blocked_hook(subscriptions.on_blocked)
