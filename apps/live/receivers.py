"""The hooks live registers with lower apps (explicit `apps.core.hooks.Hook` registries,
never Django signals). Each engineer adds theirs to `connect()`."""

from __future__ import annotations


def connect() -> None:
    """Called once from `LiveConfig.ready`."""
    from apps.live import notices, selectors
    from apps.social.hooks import register_live_ring_hook

    notices.register_types()  # live_started
    register_live_ring_hook(selectors.ring_lives)  # the ring on avatars

    from apps.live.chat import standing
    from apps.social.hooks import register_blocked_hook, register_unblocked_hook

    # a socket's kept chat standing is read again after a block either way
    register_blocked_hook(standing.on_block_changed)
    register_unblocked_hook(standing.on_block_changed)

    from apps.live.safety.receivers import connect as safety_connect

    safety_connect()  # moderation's live hooks, the frame tasks (H6)

    from apps.core.supervision import stack_processes
    from apps.live.ingest.config import stack_process

    stack_processes.register(stack_process)  # runstack supervises the ingest (H2)
