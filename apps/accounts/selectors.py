"""Reads of the accounts domain, shaped for their callers."""

from __future__ import annotations

from collections.abc import Iterable

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.db.models import Exists, OuterRef, QuerySet

from apps.accounts.models import DataExport, Device, User
from apps.core.errors import NotFoundError


def verified_email_exists(user_ref: str = "pk") -> Exists:
    """Whether the user whose id is the outer query's `user_ref` has a verified e-mail
    address (the SQL twin of `User.has_verified_email`)."""
    return Exists(EmailAddress.objects.filter(user_id=OuterRef(user_ref), verified=True))


def user_sessions_for(user: User) -> QuerySet[UserSession]:
    sessions: QuerySet[UserSession] = UserSession.objects.filter(user=user)
    return sessions


def devices_by_session_key(*, user: User, session_keys: Iterable[str]) -> dict[str, Device]:
    """One query for a page of sessions: the device each session was opened from."""
    keys = [key for key in session_keys if key]
    if not keys:
        return {}
    return {d.session_key: d for d in Device.objects.filter(user=user, session_key__in=keys)}


def devices_for(user: User) -> QuerySet[Device]:
    return Device.objects.filter(user=user)


def push_devices_for(user_id: int) -> QuerySet[Device]:
    """The user's app installs that can be pushed to: a push token, an iOS or Android
    platform, and a live session (ending a session clears its token too)."""
    return Device.objects.filter(
        user_id=user_id, platform__in=[Device.Platform.IOS, Device.Platform.ANDROID],
    ).exclude(push_token="").exclude(session_key="")


def get_data_export_for(user: User, export_id: int) -> DataExport:
    """Only the owner sees an export; anyone else gets the same 404 as a missing one."""
    export = DataExport.objects.filter(user=user, pk=export_id).first()
    if export is None:
        raise NotFoundError("No such export.")
    return export


def latest_data_export_for(user: User) -> DataExport | None:
    """The user's most recent export (the settings page shows its state and download)."""
    return DataExport.objects.filter(user=user).order_by("-id").first()
