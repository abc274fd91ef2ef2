from django.apps import AppConfig


class CommentsConfig(AppConfig):
    name = "apps.comments"
    label = "comments"

    def ready(self) -> None:
        # accounts cannot import comments; it calls us through its hook registries.
        from apps.accounts.hooks import register_account_removal_hook, register_export_section
        from apps.comments import services

        register_account_removal_hook(services.comments_purge_user)
        register_export_section("comments")(services.comments_export_user)
