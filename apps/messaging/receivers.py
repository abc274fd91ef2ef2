"""Hook registrations of the messaging app (called once from `MessagingConfig.ready`)."""

from __future__ import annotations


def connect() -> None:
    """Register messaging's functions in lower apps' hook registries."""
    from apps.media.hooks import register_asset_failed_hook, register_asset_playable_hook
    from apps.messaging import live, media_checks, services
    from apps.moderation.detection.outcome_hooks import register_asset_checked_hook
    from apps.moderation.message_hooks import (
        register_message_removed_hook,
        register_message_restored_hook,
    )
    from apps.social.hooks import register_blocked_hook, register_unblocked_hook

    # A media message waits for its upload to be playable and checked (media_checks).
    register_asset_playable_hook(media_checks.settle_for_asset)
    register_asset_failed_hook(media_checks.settle_for_asset)
    register_asset_checked_hook(media_checks.settle_for_asset)
    # A block drops the pair's live conversations at once (live.blocked).
    register_blocked_hook(live.blocked_on_commit)
    # An unblock shows the pair's messages again on their open connections (live.unblocked).
    register_unblocked_hook(live.unblocked_on_commit)
    # A moderator removes a reported message for everyone; a granted appeal restores it.
    register_message_removed_hook(services.remove_by_moderation)
    register_message_restored_hook(services.restore_by_moderation)
