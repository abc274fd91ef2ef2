"""Private storage for files only their owner may fetch (data exports). Never served from
MEDIA_URL: downloads go through a view that checks the owner."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, Storage, storages


def private_storage() -> Storage:
    if "private" in settings.STORAGES:
        return storages["private"]
    media = Path(settings.MEDIA_ROOT)
    root = getattr(settings, "SWIPEME_PRIVATE_MEDIA_ROOT", None) or (
        media.parent / f"{media.name}-private"
    )
    return FileSystemStorage(location=root, base_url=None)
