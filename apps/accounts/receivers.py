"""Receivers of allauth's signals. allauth notifies (ACCOUNT_EMAIL_NOTIFICATIONS) the
primary address when an address is removed, the old primary when the primary changes, and
the primary on password and 2FA changes. Two notices it does not send are sent here: an
added address is announced to the primary (the old) one, and a removed address is told
itself (it may be the owner's, removed by someone else)."""

from __future__ import annotations

from typing import Any

from allauth.account.adapter import get_adapter
from allauth.account.models import EmailAddress
from allauth.account.signals import email_added, email_removed


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


def connect() -> None:
    email_added.connect(notify_email_added, dispatch_uid="accounts.notify_email_added")
    email_removed.connect(notify_email_removed, dispatch_uid="accounts.notify_email_removed")
