from django.apps import AppConfig


class StudioConfig(AppConfig):
    name = "apps.studio"
    label = "studio"

    def ready(self) -> None:
        # A rendered edit of a post switches it once its upload is playable and checked.
        from apps.media.hooks import register_asset_failed_hook, register_asset_playable_hook
        from apps.moderation.detection.outcome_hooks import register_asset_checked_hook
        from apps.studio import switching

        register_asset_playable_hook(switching.settle_for_asset)
        register_asset_failed_hook(switching.settle_for_asset)
        register_asset_checked_hook(switching.settle_for_asset)
