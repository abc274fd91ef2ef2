"""Celery tasks of messaging: thin and safe to run twice."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="apps.messaging.notify_offline")
def notify_offline(message_id: str, user_ids: list[str]) -> int:
    """A new message, told to the members who had no live connection (offline.py)."""
    from apps.messaging import offline

    return offline.notify_offline(int(message_id), [int(u) for u in user_ids])
