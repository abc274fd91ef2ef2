"""Hook registrations of the messaging app (called once from `MessagingConfig.ready`)."""

from __future__ import annotations


def _blocked(*, blocker_id: int, blocked_id: int) -> object:
    """A block: the pair's live connections drop each other at once (after the commit)."""
    from django.db import transaction

    from apps.messaging import live

    transaction.on_commit(lambda: live.blocked(blocker_id, blocked_id))
    return None


def connect() -> None:
    """Register messaging's functions in lower apps' hook registries."""
    from apps.social.hooks import register_blocked_hook

    register_blocked_hook(_blocked)
