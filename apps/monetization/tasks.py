"""Celery tasks of monetization: thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="apps.monetization.notify_received")
def notify_received(send_id: str) -> int:
    """A gift or tip, told to the creator who received it (notices.py)."""
    from apps.monetization import notices

    return notices.notify_received(int(send_id))
