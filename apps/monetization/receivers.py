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
