"""The local test provider's webhook deliveries (imported by PaymentsConfig.ready so the
workers register them)."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from apps.payments.models import LocalProviderEvent


@shared_task(name="payments.deliver_local_events", ignore_result=True)
def deliver_local_events(event_ids: list[int]) -> int:
    from apps.payments.providers.local import deliver

    return deliver(event_ids)


@shared_task(name="payments.redeliver_local_events", ignore_result=True)
def redeliver_local_events() -> int:
    """Beat: events whose delivery failed (or whose task was lost) are sent again, as a
    real provider retries; a fresh one is left to its own task."""
    from apps.payments.providers.local import deliver

    stale = LocalProviderEvent.objects.filter(
        delivered_at__isnull=True, created_at__lt=timezone.now() - timedelta(seconds=30))
    if not stale.exists():
        return 0
    return deliver()
