from django.apps import AppConfig


class MessagingConfig(AppConfig):
    name = "apps.messaging"
    label = "messaging"

    def ready(self) -> None:
        from apps.messaging import receivers

        receivers.connect()
