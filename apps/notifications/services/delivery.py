"""Delivering a notification beyond the inbox (push now; e-mail digests later): after the
commit that created or grew it, from the `notifications` queue (`tasks.deliver_notification`).

Once per state of a notification (its seq): a group that grew again before this ran is
delivered by the newer task (the phone shows one updated notification, its collapse key),
a retried task finds its `Delivery` row and stops. Preferences and quiet hours decide
whether to push; security and moderation notices always go.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.core.outbox import enqueue_on_commit
from apps.notifications import types
from apps.notifications.models import Delivery, HeldPush, Inbox, Notification, Preference
from apps.notifications.services import rules, texts
from apps.notifications.services._common import Candidate

logger = logging.getLogger(__name__)

QUIET_HOURS = "quiet hours"


def zone_of(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def in_quiet_hours(*, start: time | None, end: time | None, zone: str, now: datetime) -> bool:
    """Whether `now` falls in the daily quiet window [start, end) of the person's own
    time zone; a window may run over midnight (22:00-07:00)."""
    if start is None or end is None or start == end:
        return False
    local = now.astimezone(zone_of(zone)).time().replace(tzinfo=None)
    if start < end:
        return start <= local < end
    return local >= start or local < end


def channel_enabled(*, user_id: int, type_name: str, channel: types.Channel) -> bool:
    """The person's choice for one type on one channel, or the type's default."""
    kind = types.get(type_name)
    if kind.mandatory:
        return True
    choice = (Preference.objects.filter(user_id=user_id, type=type_name, channel=channel)
              .values_list("enabled", flat=True).first())
    return kind.default(channel) if choice is None else bool(choice)


def _record(row: Notification, seq: int, status: str, detail: str = "") -> None:
    try:
        with transaction.atomic():
            Delivery.objects.create(notification=row, channel=types.Channel.PUSH, seq=seq,
                                    status=status, detail=detail[:200])
    except IntegrityError:
        pass  # a concurrent run of the same task recorded it


def quiet_hours_end(*, start: time | None, end: time | None, zone: str,
                    now: datetime) -> datetime | None:
    """When the quiet window `now` falls in ends (the next local `end`), None if `now` is
    not in it."""
    if not in_quiet_hours(start=start, end=end, zone=zone, now=now):
        return None
    assert end is not None
    tz = zone_of(zone)
    local = now.astimezone(tz)
    ends = datetime.combine(local.date(), end, tzinfo=tz)
    if ends <= local:
        ends = datetime.combine(local.date() + timedelta(days=1), end, tzinfo=tz)
    return ends.astimezone(UTC)


def push_refusal(row: Notification, *, now: datetime) -> str:
    """Why this notification is not pushed now ("" = push it)."""
    if row.read_at is not None:
        return "already read"
    if types.get(row.type).mandatory:
        return ""
    if not channel_enabled(user_id=row.recipient_id, type_name=row.type,
                           channel=types.Channel.PUSH):
        return "push off for this type"
    inbox = Inbox.objects.filter(user_id=row.recipient_id).first()
    if inbox is not None and in_quiet_hours(start=inbox.quiet_start, end=inbox.quiet_end,
                                            zone=inbox.time_zone, now=now):
        return QUIET_HOURS
    return ""


def _hold(row: Notification, now: datetime) -> datetime:
    """Keep the push of this state until the person's quiet hours end (one per
    notification: a grown group's newer state replaces the held one)."""
    inbox = Inbox.objects.get(user_id=row.recipient_id)
    due = quiet_hours_end(start=inbox.quiet_start, end=inbox.quiet_end, zone=inbox.time_zone,
                          now=now) or now
    HeldPush.objects.update_or_create(notification_id=row.pk,
                                      defaults={"seq": row.seq, "due_at": due})
    return due


def _still_relevant(row: Notification) -> bool:
    """A held push at the end of quiet hours: the rules that made it still let it through
    (nobody silenced or gone since, the post or comment still there for the person), and
    the inbox still shows it."""
    from apps.notifications import selectors  # selectors import these services

    recipient = User.objects.filter(pk=row.recipient_id).first()
    return recipient is not None and rules.still_relevant(Candidate(
        row.recipient_id, row.type, "", actor_id=row.actor_id, target_type=row.target_type,
        target_id=row.target_id)) and selectors.notifications_for(recipient).filter(
        pk=row.pk).exists()


def held_pushes_release(*, now: datetime | None = None, batch_size: int = 500) -> int:
    """The beat's sweep: each push held through quiet hours that ended goes to its delivery
    task (through the outbox, in the transaction that takes it off the list: none is lost
    or sent twice); the task sends it unless it was read, grew again (superseded: the
    newer state is held or sent on its own) or is no longer relevant. Returns how many."""
    from apps.notifications.tasks import deliver_notification  # tasks import services

    now = now or timezone.now()
    released = 0
    while True:
        with transaction.atomic():
            due = list(HeldPush.objects.select_for_update(skip_locked=True)
                       .filter(due_at__lte=now).order_by("due_at")[:batch_size])
            if not due:
                return released
            HeldPush.objects.filter(pk__in=[h.pk for h in due]).delete()
            for held in due:
                enqueue_on_commit(deliver_notification, str(held.pk), held.seq, held=True)
        released += len(due)


def notification_deliver(*, notification_id: int, seq: int, now: datetime | None = None,
                         held: bool = False) -> str:
    """Push one state of a notification if the person's settings allow; returns what
    happened (for the task's result and the logs). Raises push.PushRetry to be retried.
    In the person's quiet hours the push is held and sent when they end (`held`: this is
    that send; it must still be relevant); the inbox has it at once either way."""
    from apps.notifications import push, selectors  # selectors import these services
    from apps.notifications.services.mail import notification_email_now  # imports this

    now = now or timezone.now()
    row = Notification.objects.filter(pk=notification_id).first()
    if row is None or row.seq != seq:
        return "superseded"  # deleted, or grown again: the newer state's task delivers
    notification_email_now(row)  # moderation decisions: by e-mail at once, not the digest
    if Delivery.objects.filter(notification=row, channel=types.Channel.PUSH, seq=seq).exists():
        return "done before"
    refusal = push_refusal(row, now=now)
    if refusal == QUIET_HOURS:
        return f"held until {_hold(row, now).isoformat()}"
    if not refusal and held and not _still_relevant(row):
        refusal = "no longer relevant"
    if refusal:
        _record(row, seq, Delivery.Status.SKIPPED, refusal)
        return f"skipped: {refusal}"
    title, body, url = texts.describe(row)
    unread = selectors.unread_count_of(row.recipient_id)
    outcome = push.deliver_push(user_id=row.recipient_id, message=push.PushMessage(
        title=title, body=body, url=url, collapse_key=row.group_key or f"{row.type}:{row.pk}",
        notification_id=str(row.pk), type=row.type, badge=unread))
    if outcome.rate_limited:
        _record(row, seq, Delivery.Status.RATE_LIMITED)
        return "rate limited"
    status = Delivery.Status.SENT if outcome.sent or not outcome.failed else Delivery.Status.FAILED
    _record(row, seq, status, f"sent {outcome.sent}, failed {outcome.failed}")
    return str(status)
