from django.apps import AppConfig


class MonetizationConfig(AppConfig):
    name = "apps.monetization"
    label = "monetization"
    verbose_name = "Monetization"

    def ready(self) -> None:
        from apps.monetization import receivers

        receivers.connect()
