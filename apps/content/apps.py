from typing import Any

from django.apps import AppConfig
from django.db import transaction
from django.db.models.signals import post_save

# what media renders from a post (its recipe hook): a change re-renders those outputs
_RECIPE_FIELDS = {"sound", "sound_id", "sound_mix", "cover_time_ms"}


def _recipe_changed_on_commit(asset_ids: list[int]) -> None:
    from apps.media.tasks import recipe_changed

    def send() -> None:
        for asset_id in asset_ids:
            recipe_changed.delay(asset_id)

    transaction.on_commit(send)


def _post_saved(sender: Any, instance: Any, created: bool, update_fields: Any,
                **kwargs: Any) -> None:
    if created or update_fields is None or _RECIPE_FIELDS & set(update_fields):
        _recipe_changed_on_commit([instance.asset_id])


class ContentConfig(AppConfig):
    name = "apps.content"
    label = "content"

    def ready(self) -> None:
        # media and accounts cannot import content; they call us through their hooks.
        from apps.accounts.hooks import register_account_removal_hook
        from apps.content import selectors, services
        from apps.media.hooks import (
            register_asset_failed_hook,
            register_asset_playable_hook,
            register_asset_public_hook,
            register_asset_recipe_hook,
        )

        register_asset_playable_hook(services.posts_publish_for_asset)
        register_asset_failed_hook(services.posts_hold_for_failed_asset)
        register_asset_public_hook(selectors.asset_is_publicly_watchable)
        register_asset_recipe_hook(selectors.asset_media_recipe)
        post_save.connect(_post_saved, sender="content.Post", dispatch_uid="content-recipe-post")
        register_account_removal_hook(services.content_purge_user)
