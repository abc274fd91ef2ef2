"""Reads of the accounts domain, shaped for their callers."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import import_module

from allauth.account.models import EmailAddress
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

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


def live_session_keys(session_keys: Iterable[str]) -> set[str]:
    """Which of these sessions are still signed in (not logged out, ended or expired).
    One query with the database session engine."""
    keys = [key for key in session_keys if key]
    if not keys:
        return set()
    store = import_module(settings.SESSION_ENGINE).SessionStore
    model = getattr(store, "get_model_class", None)
    if model is None:
        return {key for key in keys if store().exists(key)}
    return set(model().objects.filter(session_key__in=keys, expire_date__gt=timezone.now())
               .values_list("session_key", flat=True))


def push_devices_for(user_id: int) -> list[Device]:
    """The user's app installs that can be pushed to: a push token, an iOS or Android
    platform, and a session still signed in (a phone logged out of the account, whose
    row keeps its token, is told nothing more)."""
    devices = list(Device.objects.filter(
        user_id=user_id, platform__in=[Device.Platform.IOS, Device.Platform.ANDROID],
    ).exclude(push_token="").exclude(session_key="").order_by("pk"))
    live = live_session_keys(device.session_key for device in devices)
    return [device for device in devices if device.session_key in live]


def get_data_export_for(user: User, export_id: int) -> DataExport:
    """Only the owner sees an export; anyone else gets the same 404 as a missing one."""
    export = DataExport.objects.filter(user=user, pk=export_id).first()
    if export is None:
        raise NotFoundError("No such export.")
    return export


def latest_data_export_for(user: User) -> DataExport | None:
    """The user's most recent export (the settings page shows its state and download)."""
    return DataExport.objects.filter(user=user).order_by("-id").first()
