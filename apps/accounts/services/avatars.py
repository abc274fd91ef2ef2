"""Avatars: validated by content, stored, rendered to square WebP sizes by a task."""

from __future__ import annotations

import io
import secrets
import warnings
from typing import IO

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from PIL import Image, ImageOps, UnidentifiedImageError

from apps.accounts.models import User
from apps.accounts.services._common import _delete_files
from apps.core.errors import ApplicationError
from apps.core.outbox import enqueue_on_commit

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
        # Through the task outbox: the resize is not lost if the broker is down now.
        enqueue_on_commit(avatar_render, locked.pk, name)
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
