from __future__ import annotations

from celery import shared_task

from apps.core import outbox
from apps.core.health import beat_record, heartbeat_record


@shared_task(name="core.heartbeat", ignore_result=True)
def heartbeat(queue: str) -> None:
    """Beat sends one to every queue; a worker that takes it proves the queue is served."""
    heartbeat_record(queue=queue)


@shared_task(name="core.outbox_dispatch", ignore_result=True)
def outbox_dispatch() -> int:
    """Send the tasks recorded in the outbox that are not sent yet (the broker was down
    when their transaction committed); prune old sent rows. Beat sends it every 10 s, so
    its runs are beat's liveness for /readyz."""
    beat_record()
    sent = outbox.outbox_dispatch()
    outbox.outbox_prune()
    return sent
