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
    _connect_payouts()
    _connect_subscriptions()
    _connect_closure()


def _connect_closure() -> None:
    """A deleted account's money: told before (the deletion page and API), settled by the
    purge (coins forfeited, unpaid earnings kept as unclaimed; services/closure.py)."""
    from apps.accounts.hooks import register_account_removal_hook, register_deletion_notice_hook
    from apps.monetization.services import closure

    register_deletion_notice_hook(closure.deletion_notices)
    register_account_removal_hook(closure.money_purge_user)


def _connect_subscriptions() -> None:
    """Subscriptions: the provider's word settles their charges; a block stops renewal."""
    from apps.monetization import subscription_notices
    from apps.monetization.services import subscriptions
    from apps.payments import hooks as payments_hooks
    from apps.social.hooks import register_blocked_hook

    subscription_notices.register_types()  # new_subscriber, subscription_billing
    payments_hooks.payment_event.register(subscriptions.on_payment_event)
    register_blocked_hook(subscriptions.on_blocked)


def _connect_payouts() -> None:
    """Payouts: the provider's payout events settle the ledger hold; password and e-mail
    changes are recorded for the fraud signals (a payout soon after one is reviewed)."""
    from apps.accounts.hooks import register_security_event_hook
    from apps.analytics.hooks import creator_earnings
    from apps.monetization import payout_notices, payout_selectors
    from apps.monetization.services import payouts
    from apps.payments import hooks as payments_hooks

    payout_notices.register_types()
    payments_hooks.payout_event.register(payouts.payout_event_received)
    creator_earnings.register(payout_selectors.analytics_earnings)  # analytics' earnings/RPM
    # accounts turns allauth's password and e-mail signals into its security events
    register_security_event_hook(_security_event)


def _security_event(*, user_id: int, kind: str, detail: dict[str, str]) -> None:
    from apps.monetization import fraud
    from apps.monetization.models import AccountChange

    if kind in ("password_changed", "password_reset"):
        fraud.account_changed(user_id=user_id, kind=AccountChange.Kind.PASSWORD)
    elif kind == "email_changed":
        fraud.account_changed(user_id=user_id, kind=AccountChange.Kind.EMAIL)
