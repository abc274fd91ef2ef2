"""Celery tasks of notifications (the `notifications` queue): thin and safe to run twice."""

from __future__ import annotations

from typing import Any

from celery import Task, shared_task

from apps.notifications import push, services


@shared_task(name="apps.notifications.handle_event")
def handle_event(event: str, payload: dict[str, Any]) -> int:
    """What a hook announced becomes notifications (sent through the task outbox)."""
    return len(services.event_handle(event=event, payload=payload))


@shared_task(name="apps.notifications.deliver", bind=True, max_retries=8)
def deliver_notification(self: Task, notification_id: str, seq: int, held: bool = False) -> str:
    """Push one state of a notification, if the person's settings allow (`held`: at the
    end of their quiet hours)."""
    try:
        return services.notification_deliver(notification_id=int(notification_id), seq=seq,
                                             held=held)
    except push.PushRetry as exc:
        raise self.retry(countdown=max(1.0, exc.retry_after)) from exc


@shared_task(name="apps.notifications.deliver_batch")
def deliver_batch(states: list[list[Any]], announce: bool = True) -> int:
    """Live and push delivery of one batch ([notification id, seq] pairs; a fan-out's, or
    `notify`'s with `announce` False: it announced them itself after its commit): one task
    per batch, not per recipient. A push to retry goes on as its own task."""
    from apps.notifications import live
    from apps.notifications.models import Notification

    if announce:
        # whole rows: the announcements carry each item (live.announcements), per batch
        live.announce(list(Notification.objects.filter(
            pk__any=[int(pk) for pk, _ in states])))
    for pk, seq in states:
        try:
            services.notification_deliver(notification_id=int(pk), seq=int(seq))
        except push.PushRetry as exc:
            deliver_notification.apply_async((str(pk), int(seq)),
                                             countdown=max(1.0, exc.retry_after))
    return len(states)


@shared_task(name="apps.notifications.release_held_pushes")
def release_held_pushes() -> int:
    """The pushes held through quiet hours that ended, to their delivery (beat, 1 min)."""
    from apps.notifications.services.delivery import held_pushes_release

    return held_pushes_release()


@shared_task(name="apps.notifications.send_digests")
def send_digests() -> dict[str, int]:
    """Plan the digests due at people's local morning, then send them (safe twice)."""
    from apps.notifications.digest import services as digests

    planned = digests.digests_plan()
    return {"planned": planned, **digests.digests_send()}
