from django.apps import AppConfig


class MediaConfig(AppConfig):
    name = "apps.media"
    label = "media"

    def ready(self) -> None:
        # accounts cannot import media; it calls us through its removal hook
        from apps.accounts.hooks import register_account_removal_hook
        from apps.media import services

        register_account_removal_hook(services.media_purge_user)
