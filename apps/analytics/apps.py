from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "apps.analytics"
    label = "analytics"

    def ready(self) -> None:
        # accounts cannot import analytics; it calls us through its hook registries.
        from apps.accounts.hooks import register_account_removal_hook, register_export_section
        from apps.analytics import services

        register_account_removal_hook(services.analytics_purge_user)
        from apps.analytics.qoe import metrics

        metrics.register()  # the QoE alert thresholds' gauges on /metrics
        register_export_section("watch_history")(services.analytics_export_user)
