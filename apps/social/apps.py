from django.apps import AppConfig


class SocialConfig(AppConfig):
    name = "apps.social"
    label = "social"

    def ready(self) -> None:
        # accounts cannot import social; it calls us through its hook registries instead.
        from apps.accounts.hooks import (
            register_account_made_public_hook,
            register_account_removal_hook,
            register_export_section,
        )
        from apps.social import services

        register_account_removal_hook(services.graph_purge_user)
        register_account_made_public_hook(services.follow_requests_accept_all)
        register_export_section("social_graph")(services.graph_export_user)
