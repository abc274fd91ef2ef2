from __future__ import annotations

from celery import shared_task

from apps.core.health import heartbeat_record


@shared_task(name="core.heartbeat", ignore_result=True)
def heartbeat(queue: str) -> None:
    """Beat sends one to every queue; a worker that takes it proves the queue is served."""
    heartbeat_record(queue=queue)
