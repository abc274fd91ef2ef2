from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "apps.payments"
    label = "payments"
    verbose_name = "Payments and ledger"

    def ready(self) -> None:
        # The local provider's webhook deliveries live beside it, not in tasks.py: register
        # them with Celery in every process (workers and the web server that sends them).
        from apps.payments.providers import tasks  # noqa: F401
