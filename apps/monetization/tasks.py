"""Celery tasks of monetization: thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="apps.monetization.notify_received")
def notify_received(send_id: str) -> int:
    """A gift or tip, told to the creator who received it (notices.py)."""
    from apps.monetization import notices

    return notices.notify_received(int(send_id))


@shared_task(name="apps.monetization.send_payout")
def send_payout(payout_id: str) -> str | None:
    """A processing payout handed to the provider (services/payouts.py; safe to run twice:
    the provider makes one payout per key)."""
    from apps.monetization.services.payouts import payout_send

    payout = payout_send(int(payout_id))
    return None if payout is None else payout.state


@shared_task(name="apps.monetization.renew_subscriptions")
def renew_subscriptions() -> dict[str, int]:
    """Beat: renewals and retries charged, cancelled and out-of-grace subscriptions ended
    (services/subscriptions/renewal.py; safe to run twice: each period's attempt is charged
    once)."""
    from apps.monetization.services import subscriptions

    return subscriptions.renew_subscriptions()


@shared_task(name="apps.monetization.notify_subscription")
def notify_subscription(subscription_id: str, what: str, period: int, attempt: int) -> int:
    """A subscription event told to the creator or the subscriber (subscription_notices)."""
    from apps.monetization import subscription_notices

    return subscription_notices.notify(int(subscription_id), what, period, attempt)


@shared_task(name="apps.monetization.release_cleared_earnings")
def release_cleared_earnings() -> int:
    """Beat: creators' earnings whose clearing period ended become payable
    (services/clearing.py; safe to run twice or at once: each row is released once)."""
    from apps.monetization.services.clearing import release_due

    return release_due()
