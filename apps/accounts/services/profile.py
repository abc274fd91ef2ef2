"""The public profile (display name, bio, links, privacy, country, language) and the
username."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts import hooks
from apps.accounts.models import User
from apps.accounts.usernames import next_username_change_at, validate_username
from apps.core.errors import ApplicationError, ConflictError

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
        hooks.account_changed(user_ids=[locked.pk])
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
        hooks.account_changed(user_ids=[locked.pk])
        transaction.on_commit(lambda: hooks.run_profile_changed_hooks(
            user_id=locked.pk, fields=["username"]))
    user.username = locked.username
    user.username_skeleton = locked.username_skeleton
    user.username_changed_at = locked.username_changed_at
    return user
