from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "apps.events"
    label = "events"

    def ready(self) -> None:
        from apps.core.health import backlog_checks
        from apps.events.spool import spool_backlog

        backlog_checks.register(spool_backlog)
