from django.apps import AppConfig


class LiveConfig(AppConfig):
    name = "apps.live"
    label = "live"
    verbose_name = "Live"

    def ready(self) -> None:
        from apps.live import receivers

        receivers.connect()
