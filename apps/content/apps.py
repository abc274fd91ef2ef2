from django.apps import AppConfig


class ContentConfig(AppConfig):
    name = "apps.content"
    label = "content"

    def ready(self) -> None:
        # media and accounts cannot import content; they call us through their hooks.
        from apps.accounts.hooks import (
            register_account_removal_hook,
            register_profile_changed_hook,
        )
        from apps.content import selectors, services
        from apps.events.hooks import register_visible_posts_filter
        from apps.media.hooks import (
            register_asset_failed_hook,
            register_asset_playable_hook,
            register_asset_playback_hook,
            register_asset_public_hook,
            register_asset_recipe_hook,
        )

        register_asset_playable_hook(services.posts_publish_for_asset)
        register_asset_failed_hook(services.posts_hold_for_failed_asset)
        register_asset_public_hook(selectors.asset_public_version)
        register_asset_recipe_hook(selectors.asset_media_recipe)
        register_asset_playback_hook(selectors.asset_playback_wanted)
        register_account_removal_hook(services.content_purge_user)
        register_visible_posts_filter(selectors.visible_post_ids_for)
        register_profile_changed_hook(services.account_privacy_changed)
