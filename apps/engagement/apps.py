from django.apps import AppConfig


class EngagementConfig(AppConfig):
    name = "apps.engagement"
    label = "engagement"

    def ready(self) -> None:
        # accounts cannot import engagement; it calls us through its hook registries.
        from apps.accounts.hooks import register_account_removal_hook, register_export_section
        from apps.content.counter_overlay import register_pending_reader
        from apps.engagement import counters, services

        register_account_removal_hook(services.engagement_purge_user)
        register_export_section("engagement")(services.engagement_export_user)
        # content's post output shows stored counters plus our not-yet-flushed deltas.
        register_pending_reader(counters.shown_pending_deltas)
