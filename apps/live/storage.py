"""Where live covers are kept: private storage (`accounts.storage.private_storage`, outside
MEDIA_ROOT, which nginx serves to anyone), because a followers-only live's cover is the
followers' alone. Pages and answers link to `playback.cover` (`/live/<id>/cover`), which
asks the one visibility rule (`selectors.live_for`) before reading the file."""

from __future__ import annotations

from django.core.files.storage import Storage

from apps.accounts.storage import private_storage


def cover_storage() -> Storage:
    """The cover field's storage (a callable, so the migration names it, not a path)."""
    return private_storage()
