from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "apps.payments"
    label = "payments"
    verbose_name = "Payments and ledger"

    def ready(self) -> None:
        # The providers' admin (beside the ledger's admin.py) and the local provider's
        # webhook deliveries (beside it, not in tasks.py), registered in every process.
        from apps.payments import admin_providers, metrics  # noqa: F401
        from apps.payments.providers import tasks  # noqa: F401

        metrics.register()  # the ledger reconciliation's gauges on /metrics
