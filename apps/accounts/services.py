"""Every write of the accounts domain: profiles, usernames, devices and sessions,
deactivation and deletion, avatars and data exports."""

from __future__ import annotations

import hashlib
import io
import json
import re
import secrets
import warnings
import zipfile
from datetime import datetime, timedelta
from typing import IO, Any
from urllib.parse import urlsplit

from allauth.usersessions.models import UserSession
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone
from PIL import Image, ImageOps, UnidentifiedImageError

from apps.accounts import hooks
from apps.accounts.models import DataExport, Device, User
from apps.accounts.storage import private_storage
from apps.accounts.usernames import next_username_change_at, validate_username
from apps.core.errors import ApplicationError, ConflictError, NotFoundError

# --- Profile --------------------------------------------------------------------------

MAX_LINKS = 5
MAX_LINK_LENGTH = 200
_UNSET: Any = object()


def _clean_links(links: list[str]) -> list[str]:
    if len(links) > MAX_LINKS:
        raise ApplicationError(
            f"At most {MAX_LINKS} links.", fields={"links": [f"At most {MAX_LINKS} links."]}
        )
    validator = URLValidator(schemes=["http", "https"])
    cleaned: list[str] = []
    for index, link in enumerate(links):
        link = link.strip()
        try:
            if len(link) > MAX_LINK_LENGTH:
                raise ValidationError("Too long.")
            validator(link)
            if not urlsplit(link).hostname:
                raise ValidationError("No host.")
        except ValidationError:
            raise ApplicationError(
                "Links must be http(s) URLs.",
                fields={f"links.{index}": ["Enter a valid http(s) URL."]},
            ) from None
        cleaned.append(link)
    return cleaned


def _clean_country(country: str) -> str:
    """ISO 3166-1 alpha-2, upper-cased; "" for unknown."""
    code = country.strip().upper()
    if code and not (len(code) == 2 and code.isascii() and code.isalpha()):
        raise ApplicationError("A two-letter country code (ISO 3166-1), e.g. GB.",
                               fields={"country": ["Enter a two-letter country code."]})
    return code


_LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2}")


def _clean_language(language: str) -> str:
    """A BCP 47 tag such as "en" or "pt-BR"; "" for unknown."""
    tag = language.strip()
    if tag and (len(tag) > 16 or not _LANGUAGE_TAG.fullmatch(tag)):
        raise ApplicationError('A language tag such as "en" or "pt-BR".',
                               fields={"language": ["Enter a language tag such as en."]})
    return tag


def user_profile_update(
    *,
    user: User,
    display_name: str = _UNSET,
    bio: str = _UNSET,
    links: list[str] = _UNSET,
    is_private: bool = _UNSET,
    country: str = _UNSET,
    language: str = _UNSET,
) -> User:
    """Edits the public profile. Email, date of birth and the verified badge are not
    editable here (they have their own flows or are staff-only)."""
    changes: dict[str, Any] = {}
    if country is not _UNSET:
        changes["country"] = _clean_country(country)
    if language is not _UNSET:
        changes["language"] = _clean_language(language)
    if display_name is not _UNSET:
        changes["display_name"] = display_name.strip()
    if bio is not _UNSET:
        changes["bio"] = bio.strip()
    if links is not _UNSET:
        changes["links"] = _clean_links(links)
    if is_private is not _UNSET:
        changes["is_private"] = bool(is_private)
    if not changes:
        return user
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        made_public = locked.is_private and changes.get("is_private") is False
        for name, value in changes.items():
            setattr(locked, name, value)
        locked.full_clean(exclude=["password", "username", "avatar", "email"],
                          validate_unique=False, validate_constraints=False)
        locked.save(update_fields=[*changes])
        if made_public:
            hooks.run_account_made_public_hooks(user_id=locked.pk)
        changed, user_id = [*changes], locked.pk
        transaction.on_commit(lambda: hooks.run_profile_changed_hooks(user_id=user_id,
                                                                      fields=changed))
    for name, value in changes.items():
        setattr(user, name, value)
    return user


def user_username_change(*, user: User, username: str) -> User:
    """Changes the username under the username rules and the change cool-down."""
    now = timezone.now()
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        if locked.username == username:
            return locked
        allowed_at = next_username_change_at(locked.username_changed_at)
        if allowed_at is not None and allowed_at > now:
            raise ApplicationError(
                f"You can change your username again after {allowed_at:%Y-%m-%d %H:%M} UTC.",
                code="username_cooldown",
                status_code=429,
                fields={"username": ["Username was changed recently."]},
            )
        try:
            validate_username(username, exclude_user_id=locked.pk)
        except ValidationError as exc:
            raise ApplicationError(exc.messages[0], code="invalid",
                                   fields={"username": exc.messages}) from None
        locked.username = username
        locked.username_changed_at = now
        try:
            with transaction.atomic():  # the skeleton follows (User.save)
                locked.save(update_fields=["username", "username_changed_at"])
        except IntegrityError:
            raise ConflictError("This username is taken.", code="username_taken",
                                fields={"username": ["This username is taken."]}) from None
        transaction.on_commit(lambda: hooks.run_profile_changed_hooks(
            user_id=locked.pk, fields=["username"]))
    user.username = locked.username
    user.username_skeleton = locked.username_skeleton
    user.username_changed_at = locked.username_changed_at
    return user


# --- Devices and sessions ---------------------------------------------------------------


def device_record(
    *,
    user: User,
    session_key: str,
    platform: str,
    app_version: str = "",
    device_identifier: str = "",
    user_agent: str = "",
    ip: str | None = None,
) -> Device:
    """Called at each log-in: one row per (user, client device id), pointed at the new
    session. Without a device id (plain web log-ins) the row is keyed by the session."""
    if platform not in Device.Platform.values:
        platform = Device.Platform.WEB
    values = {
        "platform": platform,
        "app_version": app_version[:32],
        "user_agent": user_agent[:500],
        "ip": ip or None,
        "session_key": session_key,
        "last_seen_at": timezone.now(),
    }
    device_identifier = device_identifier[:128]
    with transaction.atomic():
        if device_identifier:
            device, _ = Device.objects.update_or_create(
                user=user, device_identifier=device_identifier, defaults=values
            )
        else:
            device, _ = Device.objects.update_or_create(
                user=user, device_identifier="", session_key=session_key, defaults=values
            )
    return device


def device_update(*, user: User, device_id: int, push_token: str) -> Device:
    with transaction.atomic():
        device = (
            Device.objects.select_for_update().filter(user=user, pk=device_id).first()
        )
        if device is None:
            raise NotFoundError("No such device.")
        device.push_token = push_token.strip()
        device.save(update_fields=["push_token"])
    return device


def _end_sessions(sessions: list[UserSession]) -> int:
    keys = [session.session_key for session in sessions]
    for session in sessions:
        session.end()  # deletes the Django session: its app token stops working
    if keys:
        Device.objects.filter(session_key__in=keys).update(session_key="", push_token="")
    return len(keys)


def user_session_end(*, user: User, session_id: int) -> None:
    with transaction.atomic():
        session = UserSession.objects.filter(user=user, pk=session_id).first()
        if session is None:
            raise NotFoundError("No such session.")
        _end_sessions([session])


def user_sessions_end_all(*, user: User, keep_session_key: str | None = None) -> int:
    """Ends every session of the user, except `keep_session_key` when given."""
    with transaction.atomic():
        sessions = UserSession.objects.filter(user=user)
        if keep_session_key:
            sessions = sessions.exclude(session_key=keep_session_key)
        return _end_sessions(list(sessions))


# --- Deactivation and deletion -----------------------------------------------------------


def user_deactivate(*, user: User) -> User:
    """Hides the account until its owner logs in again; ends every session."""
    now = timezone.now()
    with transaction.atomic():
        User.objects.filter(pk=user.pk, deactivated_at__isnull=True).update(deactivated_at=now)
        user_sessions_end_all(user=user)
    user.refresh_from_db(fields=["deactivated_at"])
    return user


def user_deletion_schedule(*, user: User, password: str | None = None) -> User:
    """Schedules the hard deletion after the grace period; ends every session. Logging in
    (or the cancel endpoint) during the grace period cancels it. The password is asked
    again so that a stolen session token alone cannot delete an account."""
    if user.has_usable_password() and not user.check_password(password or ""):
        message = "Enter your current password to delete the account."
        raise ApplicationError(message, code="password_incorrect",
                               fields={"password": [message]})
    when = timezone.now() + settings.SWIPEME_DELETION_GRACE
    with transaction.atomic():
        User.objects.filter(pk=user.pk, deletion_scheduled_for__isnull=True).update(
            deletion_scheduled_for=when
        )
        user_sessions_end_all(user=user)
    user.refresh_from_db(fields=["deletion_scheduled_for"])
    return user


def user_deletion_cancel(*, user: User) -> User:
    User.objects.filter(pk=user.pk).update(deletion_scheduled_for=None)
    user.deletion_scheduled_for = None
    return user


def user_on_login(*, user: User) -> bool:
    """A log-in reactivates a deactivated account and cancels a scheduled deletion.
    Returns whether anything changed."""
    changed = User.objects.filter(pk=user.pk).exclude(
        deactivated_at__isnull=True, deletion_scheduled_for__isnull=True
    ).update(deactivated_at=None, deletion_scheduled_for=None)
    user.deactivated_at = None
    user.deletion_scheduled_for = None
    return bool(changed)


def _files_of(user: User) -> list[tuple[Any, str]]:
    files: list[tuple[Any, str]] = []
    if user.avatar:
        files.append((default_storage, str(user.avatar.name)))
    files.extend((default_storage, name) for name in user.avatar_sizes.values())
    files.extend(
        (private_storage(), name)
        for name in DataExport.objects.filter(user=user).exclude(file="")
        .values_list("file", flat=True)
    )
    return files


def _delete_files(files: list[tuple[Any, str]]) -> None:
    for storage, name in files:
        storage.delete(name)


def users_purge_due(*, batch_size: int = 100, now: datetime | None = None) -> int:
    """Hard-deletes accounts whose grace period is over. Each user is claimed with SKIP
    LOCKED and purged in a transaction of its own, so concurrent purgers never fight over
    (or double-process) a user, and one user's failing hook or lock conflict rolls back
    only that user. Higher apps' removal hooks run in the same transaction as the delete."""
    now = now or timezone.now()
    purged = 0
    skipped: set[int] = set()
    while True:
        candidates = list(
            User.objects.filter(deletion_scheduled_for__lte=now)
            .exclude(pk__in=skipped)
            .order_by("pk")
            .values_list("pk", flat=True)[:batch_size]
        )
        if not candidates:
            return purged
        for user_id in candidates:
            with transaction.atomic():
                user = (
                    User.objects.select_for_update(skip_locked=True)
                    .filter(pk=user_id, deletion_scheduled_for__lte=now)
                    .first()
                )
                if user is None:  # another purger holds it, or the deletion was cancelled
                    skipped.add(user_id)
                    continue
                files = _files_of(user)
                hooks.run_account_removal_hooks(user_id=user.pk)
                UserSession.objects.filter(user=user).delete()
                user.delete()
                transaction.on_commit(lambda files=files: _delete_files(files))  # type: ignore[misc]
            purged += 1


# --- Avatars -------------------------------------------------------------------------------

AVATAR_MAX_BYTES = 10 * 1024 * 1024
AVATAR_MAX_SIDE = 8000
AVATAR_SIZES = (48, 100, 320, 720)
AVATAR_FORMATS = {"JPEG": "jpg", "PNG": "png", "WEBP": "webp", "GIF": "gif"}


def _avatar_error(message: str, code: str = "invalid_image") -> ApplicationError:
    return ApplicationError(message, code=code, fields={"file": [message]})


def validate_avatar_image(file: IO[bytes], *, size: int) -> str:
    """Decides by content, not by name or declared type. Returns the file extension."""
    if size > AVATAR_MAX_BYTES:
        raise _avatar_error("The image is larger than 10 MB.", code="file_too_large")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            file.seek(0)
            with Image.open(file) as image:
                fmt = image.format or ""
                if fmt not in AVATAR_FORMATS:
                    raise _avatar_error("Upload a JPEG, PNG, WebP or GIF image.")
                width, height = image.size
                if width > AVATAR_MAX_SIDE or height > AVATAR_MAX_SIDE:
                    raise _avatar_error("The image is larger than 8000x8000 pixels.",
                                        code="image_too_large")
                image.verify()
            file.seek(0)
            with Image.open(file) as image:
                image.load()  # a truncated or corrupt body fails here
    except ApplicationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise _avatar_error("The image has too many pixels.", code="image_too_large") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError):
        raise _avatar_error("The file is not a readable image.") from None
    finally:
        file.seek(0)
    return AVATAR_FORMATS[fmt]


def user_avatar_set(*, user: User, file: IO[bytes], size: int) -> User:
    """Stores the original and enqueues the resize (after commit). Old files go once the
    new avatar is committed."""
    from apps.accounts.tasks import avatar_render

    ext = validate_avatar_image(file, size=size)
    name = default_storage.save(
        f"avatars/original/{user.pk}-{secrets.token_hex(8)}.{ext}", ContentFile(file.read())
    )
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        old = [locked.avatar.name, *locked.avatar_sizes.values()] if locked.avatar else []
        locked.avatar.name = name
        locked.avatar_sizes = {}
        locked.save(update_fields=["avatar", "avatar_sizes"])
        transaction.on_commit(lambda: _delete_files([(default_storage, n) for n in old]))
        transaction.on_commit(lambda: avatar_render.delay(locked.pk, name))
    user.avatar.name = name
    user.avatar_sizes = {}
    return user


def user_avatar_delete(*, user: User) -> User:
    with transaction.atomic():
        locked = User.objects.select_for_update().get(pk=user.pk)
        old = [locked.avatar.name, *locked.avatar_sizes.values()] if locked.avatar else []
        locked.avatar.name = ""
        locked.avatar_sizes = {}
        locked.save(update_fields=["avatar", "avatar_sizes"])
        transaction.on_commit(lambda: _delete_files([(default_storage, n) for n in old]))
    user.avatar.name = ""
    user.avatar_sizes = {}
    return user


def user_avatar_render(*, user_id: int, avatar_name: str) -> bool:
    """Renders the square WebP sizes of `avatar_name`. Idempotent: a stale request (the
    avatar changed since) or an already rendered one does nothing. Returns whether it
    wrote the sizes."""
    user = User.objects.filter(pk=user_id).only("avatar", "avatar_sizes").first()
    if user is None or user.avatar.name != avatar_name:
        return False
    if set(user.avatar_sizes) == {str(side) for side in AVATAR_SIZES}:
        return False
    stem = avatar_name.rsplit("/", 1)[-1].rsplit(".", 1)[0]
    written: dict[str, str] = {}
    with default_storage.open(avatar_name, "rb") as source, Image.open(source) as image:
        image.seek(0)
        frame = ImageOps.exif_transpose(image) or image
        frame = frame.convert("RGBA" if "A" in frame.getbands() else "RGB")
        for side in AVATAR_SIZES:
            square = ImageOps.fit(frame, (side, side), method=Image.Resampling.LANCZOS)
            buffer = io.BytesIO()
            square.save(buffer, format="WEBP", quality=85, method=4)
            name = f"avatars/{side}/{stem}.webp"
            default_storage.delete(name)  # a re-run replaces its own output
            written[str(side)] = default_storage.save(name, ContentFile(buffer.getvalue()))
    # Compare-and-set: only if the avatar is still the one we rendered.
    updated = User.objects.filter(pk=user_id, avatar=avatar_name).update(avatar_sizes=written)
    if not updated:
        _delete_files([(default_storage, n) for n in written.values()])
    return bool(updated)


# --- Data exports -------------------------------------------------------------------------

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
            transaction.on_commit(lambda: data_export_build.delay(export.pk))
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
