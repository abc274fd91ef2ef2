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
        # Duets and stitches: credited when published, their borrowed part taken out when
        # the original leaves public view (takedown.py).
        from apps.accounts.hooks import register_account_changed_hook
        from apps.content.hooks import (
            register_content_changed_hook,
            register_post_published_hook,
        )
        from apps.social.hooks import register_blocked_hook
        from apps.studio import takedown

        register_post_published_hook(takedown.link_on_publish)
        register_content_changed_hook(takedown.borrowed_changed)
        register_account_changed_hook(takedown.account_changed)
        register_blocked_hook(takedown.pair_blocked)
        # The studio's sound is in its render's audio: a post crediting it is not mixed again.
        from apps.content.hooks import register_sound_in_asset_hook
        from apps.studio import selectors

        register_sound_in_asset_hook(selectors.sound_in_render)
