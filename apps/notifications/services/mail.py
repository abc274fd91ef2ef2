"""E-mail at once, for the types that cannot wait for the digest (`email_now`: moderation
decisions, appeal outcomes and posts that could not go out because of their upload; a
suspended or banned person cannot sign in to read the inbox, so the e-mail carries the
rule and the signed appeal link).

Once per notification (a `Delivery` row on the e-mail channel, written before the send:
a retried task does not mail twice), by the person's e-mail preference for the type
(mandatory types always), to a verified or unverified address alike (it is about the
account itself)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.utils.dateparse import parse_datetime

from apps.accounts.models import User
from apps.notifications import types
from apps.notifications.models import Delivery, Notification
from apps.notifications.services import texts
from apps.notifications.services.delivery import channel_enabled


def _absolute(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}" if path.startswith("/") else path


def email_text(row: Notification, username: str) -> tuple[str, str]:
    """(subject, body) of the e-mail of one notification."""
    title, body, path = texts.describe(row)
    lines = [f"Hi {username},", "", body]
    guideline = str(row.data.get("guideline_url", ""))
    if guideline:
        lines += ["", f"The rule: {_absolute(guideline)}"]
    appeal = str(row.data.get("appeal_path", ""))
    until = parse_datetime(str(row.data.get("appealable_until") or ""))
    if appeal and until is not None:
        lines += [f"You can appeal until {until:%d %B %Y}: {_absolute(appeal)}"]
    if row.type == types.UPLOAD_PROBLEM.name:
        lines += ["", f"The post: {_absolute(path)}"]
    elif row.data.get("kind") not in ("suspend", "ban"):  # a suspended account cannot open it
        lines += ["", f"Read it on SwipeMe: {_absolute(path)}"]
    if not types.get(row.type).mandatory:
        lines += ["", "Choose how you are told about this in your notification settings: "
                      f"{_absolute('/inbox/settings')}"]
    return f"SwipeMe: {title}", "\n".join(lines) + "\n"


def notification_email_now(row: Notification) -> str:
    """Mail one notification of an `email_now` type if the person's settings allow;
    returns what happened ("" for types that wait for the digest)."""
    if not types.get(row.type).email_now:
        return ""
    try:
        with transaction.atomic():
            delivery = Delivery.objects.create(notification=row, channel=types.Channel.EMAIL,
                                               seq=0, status=Delivery.Status.SKIPPED)
    except IntegrityError:
        return "e-mail done before"
    user = User.objects.filter(pk=row.recipient_id).only("email", "username").first()
    if user is None or not user.email:
        delivery.detail = "no address"
    elif not channel_enabled(user_id=row.recipient_id, type_name=row.type,
                             channel=types.Channel.EMAIL):
        delivery.detail = "e-mail off for this type"
    else:
        subject, body = email_text(row, user.username)
        sent = EmailMessage(subject, body, to=[user.email],
                            headers={"Auto-Submitted": "auto-generated"}).send(
            fail_silently=True)
        delivery.status = Delivery.Status.SENT if sent else Delivery.Status.FAILED
    delivery.save(update_fields=["status", "detail"])
    return f"e-mail {delivery.status}{f': {delivery.detail}' if delivery.detail else ''}"
