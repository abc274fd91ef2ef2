import contextlib
import os
from typing import Any

from celery import Celery, bootsteps

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")

# Sending a task goes through the Redis breaker: a dead broker costs no hung request.
app = Celery("swipeme", task_cls="apps.core.task_base:OutageAwareTask")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

HEARTBEAT_EVERY_SECONDS = 30.0


class QueueHeartbeat(bootsteps.StartStopStep):
    """Every worker records a heartbeat for each queue it consumes, from its main process's
    timer. The beat task `core.heartbeat` waits behind queued work, so a media queue with an
    hour of transcodes would look dead to /readyz although its worker is busy serving it."""

    requires = {"celery.worker.components:Timer"}

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.tref: Any = None

    def start(self, parent: Any) -> None:
        from apps.core.health import heartbeat_record

        queues = sorted(parent.app.amqp.queues.consume_from or {})

        def beat() -> None:
            for queue in queues:
                # Redis down: /readyz reports that itself; the worker must not die of it.
                with contextlib.suppress(Exception):
                    heartbeat_record(queue=queue)

        beat()
        self.tref = parent.timer.call_repeatedly(HEARTBEAT_EVERY_SECONDS, beat)

    def stop(self, parent: Any) -> None:
        if self.tref is not None:
            self.tref.cancel()
            self.tref = None


app.steps["worker"].add(QueueHeartbeat)
