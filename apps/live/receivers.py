"""The hooks live registers with lower apps (explicit `apps.core.hooks.Hook` registries,
never Django signals). Each engineer adds theirs to `connect()`."""

from __future__ import annotations


def connect() -> None:
    """Called once from `LiveConfig.ready`."""
    from apps.live.safety.receivers import connect as safety_connect

    safety_connect()  # moderation's live hooks, the frame tasks (H6)
