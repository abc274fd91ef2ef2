"""Receivers of allauth's signals. allauth notifies (ACCOUNT_EMAIL_NOTIFICATIONS) the
primary address when an address is removed, the old primary when the primary changes, and
the primary on password and 2FA changes. Two notices it does not send are sent here: an
added address is announced to the primary (the old) one, and a removed address is told
itself (it may be the owner's, removed by someone else)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.account.signals import (
    email_added,
    email_changed,
    email_removed,
    password_changed,
    password_reset,
    password_set,
)
from allauth.mfa.signals import authenticator_added, authenticator_removed, authenticator_reset
from django.db import transaction

from apps.accounts.hooks import security_event


def notify_email_added(*, email_address: EmailAddress, **kwargs: Any) -> None:
    primary = EmailAddress.objects.filter(user_id=email_address.user_id, primary=True,
                                          verified=True).exclude(pk=email_address.pk).first()
    if primary is None:
        return  # the first address of the account: nobody else to tell
    get_adapter().send_notification_mail(
        "account/email/email_added", email_address.user,
        {"added_email": email_address.email}, email=primary.email,
    )


def notify_email_removed(*, email_address: EmailAddress, **kwargs: Any) -> None:
    if not email_address.verified:
        return  # never proven to be anyone's: no mail to it
    get_adapter().send_notification_mail(
        "account/email/email_deleted", email_address.user,
        {"deleted_email": email_address.email}, email=email_address.email,
    )


def _security(kind: str) -> Any:
    # allauth writes passwords and authenticators in its own views: its signals are the only
    # way to learn of those writes. The receiver writes nothing itself and no other domain's
    # table: it calls accounts' own `security_event` hook (registered explicitly by
    # notifications, which records a task in the outbox), as our services do.
    def receiver(*, user: Any, **kwargs: Any) -> None:
        # allauth sends these after saving; one transaction for the hooks' writes
        with transaction.atomic():
            security_event(user_id=user.pk, kind=kind)
    return receiver


# Kept at module level: signals hold receivers weakly.
_SECURITY_RECEIVERS = {
    "password_changed": _security("password_changed"),
    "password_set": _security("password_changed"),
    "password_reset": _security("password_reset"),
    "mfa_changed": _security("mfa_changed"),
    "email_changed": _security("email_changed"),  # the primary address changed
}


def connect() -> None:
    password_changed.connect(_SECURITY_RECEIVERS["password_changed"],
                             dispatch_uid="accounts.security.password_changed")
    password_set.connect(_SECURITY_RECEIVERS["password_set"],
                         dispatch_uid="accounts.security.password_set")
    password_reset.connect(_SECURITY_RECEIVERS["password_reset"],
                           dispatch_uid="accounts.security.password_reset")
    for signal, uid in ((authenticator_added, "added"), (authenticator_removed, "removed"),
                        (authenticator_reset, "reset")):
        signal.connect(_SECURITY_RECEIVERS["mfa_changed"],
                       dispatch_uid=f"accounts.security.mfa_{uid}")
    email_changed.connect(_SECURITY_RECEIVERS["email_changed"],
                          dispatch_uid="accounts.security.email_changed")
    email_added.connect(notify_email_added, dispatch_uid="accounts.notify_email_added")
    email_removed.connect(notify_email_removed, dispatch_uid="accounts.notify_email_removed")
