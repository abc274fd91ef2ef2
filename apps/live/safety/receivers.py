"""Live safety's registrations with moderation (called from `apps.live.receivers.connect`)."""

from __future__ import annotations


def connect() -> None:
    from apps.live.safety import moderation_hooks as hooks
    from apps.live.safety import tasks  # noqa: F401 - the workers learn the frame tasks
    from apps.moderation import live_hooks

    live_hooks.register_live_end_hook(hooks.end_by_moderation)
    live_hooks.register_live_key_ban_hook(hooks.key_ban_by_moderation)
    live_hooks.register_live_message_removed_hook(hooks.message_removed)
    live_hooks.register_live_message_restored_hook(hooks.message_restored)
    live_hooks.register_live_preview_hook(hooks.preview)
    live_hooks.register_live_file_hook(hooks.hls_file)
