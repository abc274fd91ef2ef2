"""Devices (one row per client device, pointed at its session) and ending sessions."""

from __future__ import annotations

from allauth.usersessions.models import UserSession
from django.db import transaction
from django.utils import timezone

from apps.accounts.hooks import security_event
from apps.accounts.models import Device, User
from apps.core.errors import ForbiddenError, NotFoundError


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
        # A log-in from an install (or, on the web, a browser) this account never used,
        # when it has used others: the owner is told (a stolen password shows up here).
        seen_before = Device.objects.filter(user=user)
        known = seen_before.exists()
        if device_identifier:
            unseen = not seen_before.filter(device_identifier=device_identifier).exists()
            device, _ = Device.objects.update_or_create(
                user=user, device_identifier=device_identifier, defaults=values
            )
        else:
            unseen = not seen_before.filter(user_agent=values["user_agent"]).exists()
            device, _ = Device.objects.update_or_create(
                user=user, device_identifier="", session_key=session_key, defaults=values
            )
        if known and unseen:
            security_event(user_id=user.pk, kind="new_device", detail={
                "platform": device.get_platform_display(), "user_agent": device.user_agent,
                "ip": device.ip or "", "device_id": str(device.pk)})
    return device


def device_update(*, user: User, device_id: int, push_token: str,
                  session_key: str | None) -> Device:
    """Sets the push token of the device the caller is using: only the device row of the
    caller's own session (`session_key`), so one session cannot route another device's
    notifications to itself. A token now on this device leaves any other row that had it
    (the install's previous account must not be pushed to the new one's phone)."""
    with transaction.atomic():
        device = (
            Device.objects.select_for_update().filter(user=user, pk=device_id).first()
        )
        if device is None:
            raise NotFoundError("No such device.")
        if not session_key or device.session_key != session_key:
            raise ForbiddenError("You can set a push token only for the device you are "
                                 "using (the one logged in with this session).")
        device.push_token = push_token.strip()
        device.save(update_fields=["push_token"])
        if device.push_token:
            Device.objects.filter(push_token=device.push_token).exclude(pk=device.pk).update(
                push_token="")
    return device


def device_push_token_remove(*, device_id: int, push_token: str) -> bool:
    """The push service said the token is gone for good (APNs 410, FCM UNREGISTERED):
    clear it, unless the device registered a new one meanwhile."""
    updated = Device.objects.filter(pk=device_id, push_token=push_token).update(push_token="")
    return updated > 0


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
