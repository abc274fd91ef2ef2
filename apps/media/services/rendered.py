"""Files made on the server rather than uploaded (the studio's renders): they enter the
pipeline where an upload that just completed does, so they are validated, rewritten into
a fresh container (streams copied, no encode) and transcoded into the ladder like any
upload. Also the clips' sources as local files for such a render.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from django.db import transaction
from django.utils import timezone

from apps.media import s3, storage
from apps.media.models import MediaAsset
from apps.media.services._common import State, _enqueue_process, _local_source
from apps.media.services.notify import _notify_on_commit


def asset_create_from_file(
    *, owner_id: int, path: Path, priority: str = MediaAsset.Priority.USER
) -> MediaAsset:
    """Moves `path` in as a new asset's source and queues its processing (on commit)."""
    size = path.stat().st_size
    now = timezone.now()
    with transaction.atomic():
        asset = MediaAsset.objects.create(
            owner_id=owner_id, declared_content_type="video/mp4", upload_length=size,
            upload_offset=size, state=State.UPLOADED, uploaded_at=now, priority=priority,
        )
        dest = storage.source_path(asset.pk)
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            shutil.move(str(path), dest)
            if s3.enabled():
                s3.replace_source(asset.pk, dest)
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        _enqueue_process(asset.pk)
        _notify_on_commit(asset.pk)
    return asset


def asset_source_file(asset_id: int) -> Path:
    """An asset's kept source as a local file (downloaded first with S3 storage)."""
    return _local_source(asset_id)
