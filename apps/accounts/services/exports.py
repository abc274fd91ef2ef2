"""Data exports: requested by the owner, built into a ZIP by a task (each higher app adds
its section through `hooks.register_export_section`), expired after a week."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from datetime import datetime, timedelta
from typing import Any

from allauth.usersessions.models import UserSession
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts import hooks
from apps.accounts.models import DataExport, Device, User
from apps.accounts.storage import private_storage
from apps.core.errors import ConflictError
from apps.core.outbox import enqueue_on_commit

EXPORT_TTL = timedelta(days=7)
EXPORT_STUCK_AFTER = timedelta(hours=2)


def data_export_request(*, user: User) -> DataExport:
    """Starts an export; one in flight per user (a unique constraint decides races)."""
    from apps.accounts.tasks import data_export_build

    # An export stuck in flight (its worker died) must not block the user forever.
    DataExport.objects.filter(
        user=user,
        state__in=[DataExport.State.PENDING, DataExport.State.RUNNING],
        created_at__lt=timezone.now() - EXPORT_STUCK_AFTER,
    ).update(state=DataExport.State.FAILED, error="Timed out.", finished_at=timezone.now())
    try:
        with transaction.atomic():
            export = DataExport.objects.create(user=user)
            # Through the task outbox: a broker outage at the commit must not leave the
            # export pending (and the user blocked from asking again) until it times out.
            enqueue_on_commit(data_export_build, export.pk)
    except IntegrityError:
        raise ConflictError("An export is already being prepared.",
                            code="export_in_progress") from None
    return export


def _profile_section(user: User) -> dict[str, Any]:
    return {
        "id": str(user.pk),
        "username": user.username,
        "email": user.email,
        "date_of_birth": user.date_of_birth,
        "display_name": user.display_name,
        "bio": user.bio,
        "links": user.links,
        "is_private": user.is_private,
        "is_verified": user.is_verified,
        "date_joined": user.date_joined,
        "username_changed_at": user.username_changed_at,
        "followers_count": user.followers_count,
        "following_count": user.following_count,
    }


def _sessions_section(user: User) -> dict[str, Any]:
    sessions = [
        {"id": str(s.pk), "ip": s.ip, "user_agent": s.user_agent,
         "created_at": s.created_at, "last_seen_at": s.last_seen_at}
        for s in UserSession.objects.filter(user=user).order_by("pk")
    ]
    devices = [
        {"id": str(d.pk), "platform": d.platform, "app_version": d.app_version,
         "device_identifier": d.device_identifier, "user_agent": d.user_agent, "ip": d.ip,
         "created_at": d.created_at, "last_seen_at": d.last_seen_at}
        for d in Device.objects.filter(user=user).order_by("pk")
    ]
    return {"sessions": sessions, "devices": devices}


def _dump(data: Any) -> bytes:
    return json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False).encode()


def data_export_build(*, export_id: int) -> bool:
    """Builds the ZIP. Claims the export with compare-and-set (pending → running) so a
    duplicate delivery of the task does nothing. Returns whether it built."""
    claimed = DataExport.objects.filter(pk=export_id, state=DataExport.State.PENDING).update(
        state=DataExport.State.RUNNING
    )
    if not claimed:
        return False
    export = DataExport.objects.select_related("user").get(pk=export_id)
    user = export.user
    try:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("profile.json", _dump(_profile_section(user)))
            archive.writestr("sessions.json", _dump(_sessions_section(user)))
            for section, build in sorted(hooks.export_sections().items()):
                archive.writestr(f"{section}.json", _dump(build(user_id=user.pk)))
            if user.avatar:
                avatar_name = str(user.avatar.name)
                with default_storage.open(avatar_name, "rb") as avatar:
                    archive.writestr(f"avatar/{avatar_name.rsplit('/', 1)[-1]}",
                                     avatar.read())
        digest = hashlib.sha256(buffer.getvalue()).hexdigest()[:12]
        name = private_storage().save(f"exports/{user.pk}/{export.pk}-{digest}.zip",
                                      ContentFile(buffer.getvalue()))
    except Exception as exc:
        DataExport.objects.filter(pk=export_id).update(
            state=DataExport.State.FAILED, error=str(exc)[:255], finished_at=timezone.now()
        )
        raise
    now = timezone.now()
    DataExport.objects.filter(pk=export_id, state=DataExport.State.RUNNING).update(
        state=DataExport.State.READY, file=name, size_bytes=len(buffer.getvalue()),
        finished_at=now, expires_at=now + EXPORT_TTL,
    )
    return True


def data_exports_expire(*, now: datetime | None = None) -> int:
    """Deletes the files of exports past their expiry and marks them expired."""
    now = now or timezone.now()
    storage = private_storage()
    expired = 0
    for export in DataExport.objects.filter(state=DataExport.State.READY, expires_at__lte=now):
        if DataExport.objects.filter(pk=export.pk, state=DataExport.State.READY).update(
            state=DataExport.State.EXPIRED, file=""
        ):
            storage.delete(export.file)
            expired += 1
    return expired
