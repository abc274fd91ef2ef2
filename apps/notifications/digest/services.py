"""Planning and sending the digests, and leaving them from an e-mail.

Every ~15 minutes (`tasks.send_digests`) `digests_plan` finds the time zones whose local
time has just passed the digest hour (within a catch-up window, so a missed beat is made
up) and inserts one pending `DigestRun` per due person and period (daily: every morning;
weekly: Monday morning); the unique (user, period) makes a second run insert nothing.
`digests_send` then takes pending rows one at a time with FOR UPDATE SKIP LOCKED (two
workers share the work and never send the same row), sends in that transaction and marks
the row sent in it: an SMTP failure rolls back and leaves the row pending for the next run.

The content is what the person has not read since the previous digest (the push's rate
limit folded some of it out of their phone), limited to the types they get by e-mail
(the type x channel matrix; security and moderation notices always), grouped as in the
inbox ("maya and 41 others liked your video"). Nothing unread: no e-mail.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from allauth.account.models import EmailAddress
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from apps.accounts.models import User
from apps.notifications import selectors, types
from apps.notifications.digest.frequency import digest_frequency_set
from apps.notifications.digest.models import DigestRun, DigestSetting
from apps.notifications.digest.tokens import Unsubscribe, make_token
from apps.notifications.models import Inbox, Notification, Preference
from apps.notifications.selectors import digest_frequency
from apps.notifications.services.delivery import zone_of

logger = logging.getLogger(__name__)

Frequency = DigestSetting.Frequency
DEFAULT_FREQUENCY = DigestSetting.DEFAULT
PERIOD_LENGTH = {Frequency.DAILY: timedelta(days=1), Frequency.WEEKLY: timedelta(days=7)}
# A pending row older than this is not sent any more (the next period's digest covers it).
STALE_AFTER = timedelta(hours=20)
MAX_ATTEMPTS = 3
PLAN_BATCH = 1000


# --- the person's choice -------------------------------------------------------------------

def unsubscribe(request: Unsubscribe) -> None:
    """Leave a list from an e-mail's link (the token was checked by the caller)."""
    if request.list_name == "digest" and User.objects.filter(pk=request.user_id).exists():
        digest_frequency_set(user_id=request.user_id, frequency=Frequency.OFF)


# --- planning ------------------------------------------------------------------------------

def due_periods(*, zone: str, now: datetime) -> dict[str, str]:
    """{frequency: period key} of the digests due now for people in `zone`: its local time
    is past the digest hour by less than the catch-up window (weekly ones on Mondays)."""
    local = now.astimezone(zone_of(zone))
    start = local.replace(hour=settings.SWIPEME_DIGEST_HOUR, minute=0, second=0,
                          microsecond=0)
    if not start <= local < start + timedelta(minutes=settings.SWIPEME_DIGEST_WINDOW_MINUTES):
        return {}
    due = {Frequency.DAILY.value: f"d{local.date().isoformat()}"}
    if local.weekday() == 0:
        year, week, _ = local.isocalendar()
        due[Frequency.WEEKLY.value] = f"w{year}-W{week:02d}"
    return due


def _receivers() -> QuerySet[User]:
    """People who can get an e-mail: not gone or suspended, and the address the digest goes
    to (`User.email`) is their primary one and verified (allauth's `EmailAddress`): no
    digest to a mistyped or someone else's address, nor to one being changed and not yet
    confirmed. Checked again at the send (the planned row waits for it)."""
    verified = EmailAddress.objects.filter(user_id=OuterRef("pk"), email__iexact=OuterRef("email"),
                                           verified=True, primary=True)
    return User.objects.filter(Exists(verified), is_active=True, deactivated_at__isnull=True,
                               deletion_scheduled_for__isnull=True).exclude(email="")


def digests_plan(*, now: datetime | None = None) -> int:
    """Insert the pending digests due now; returns how many were new."""
    now = now or timezone.now()
    zones = set(Inbox.objects.exclude(time_zone="").values_list("time_zone", flat=True)
                .distinct()) | {""}
    frequency = Coalesce(Subquery(DigestSetting.objects.filter(user_id=OuterRef("pk"))
                                  .values("frequency")[:1]), Value(DEFAULT_FREQUENCY.value))
    created = 0
    for zone in sorted(zones):
        due = due_periods(zone=zone, now=now)
        if not due:
            continue
        zoned = Inbox.objects.filter(user_id=OuterRef("pk"))
        in_zone = (Exists(zoned.filter(time_zone=zone)) if zone
                   else ~Exists(zoned.exclude(time_zone="")))
        people = (_receivers().filter(in_zone).annotate(digest=frequency)
                  .filter(digest__in=list(due)).values_list("id", "digest")
                  .order_by("id").iterator(chunk_size=PLAN_BATCH))
        batch: list[DigestRun] = []
        for user_id, chosen in people:
            batch.append(DigestRun(user_id=user_id, period=due[chosen], created_at=now))
            if len(batch) >= PLAN_BATCH:
                created += len(DigestRun.objects.bulk_create(batch, ignore_conflicts=True))
                batch = []
        if batch:
            created += len(DigestRun.objects.bulk_create(batch, ignore_conflicts=True))
    return created


# --- content -------------------------------------------------------------------------------

def email_types(user_id: int) -> list[str]:
    """The types this person gets in the digest (their choice, else the type's default;
    not those e-mailed at once, `email_now`)."""
    chosen = dict(Preference.objects.filter(user_id=user_id, channel=types.Channel.EMAIL)
                  .values_list("type", "enabled"))
    return [kind.name for kind in types.all_types() if not kind.email_now and (
        kind.mandatory or chosen.get(kind.name, kind.default(types.Channel.EMAIL)))]


@dataclass(frozen=True)
class DigestLine:
    title: str
    body: str
    url: str


@dataclass(frozen=True)
class DigestContent:
    lines: list[DigestLine]
    total: int  # unread notifications in the period (more than the lines shown)


def digest_content(user: User, *, since: datetime, until: datetime) -> DigestContent:
    rows = Notification.objects.filter(
        recipient_id=user.pk, read_at__isnull=True, updated_at__gt=since,
        updated_at__lte=until, type__in=email_types(user.pk))
    shown = list(rows.order_by("-seq")[:settings.SWIPEME_DIGEST_MAX_LINES])
    total = len(shown) if len(shown) < settings.SWIPEME_DIGEST_MAX_LINES else rows.count()
    lines = [DigestLine(title=line.title, body=line.body, url=absolute(line.path))
             for line in selectors.lines_for(user, shown)]
    return DigestContent(lines=lines, total=total)


def absolute(path: str) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{path}"


def unsubscribe_url(token: str) -> str:
    return absolute(f"/email/unsubscribe/{token}/")


def digest_message(user: User, content: DigestContent, *, frequency: str) -> EmailMultiAlternatives:
    token = make_token(user_id=user.pk, list_name="digest")
    link = unsubscribe_url(token)
    first = content.lines[0].title
    more = content.total - 1
    subject = first if more <= 0 else f"{first}, and {more} more on SwipeMe"
    context = {
        "user": user, "lines": content.lines, "total": content.total,
        "more": content.total - len(content.lines),
        "period": "today" if frequency == Frequency.DAILY else "this week",
        "frequency": frequency, "inbox_url": absolute("/inbox"),
        "settings_url": absolute("/settings/"), "unsubscribe_url": link,
    }
    targets = [f"<{link}>"]
    if settings.SWIPEME_UNSUBSCRIBE_MAILTO:
        targets.append(f"<mailto:{settings.SWIPEME_UNSUBSCRIBE_MAILTO}"
                       f"?subject={quote('unsubscribe ' + token)}>")
    message = EmailMultiAlternatives(
        subject=subject, body=render_to_string("notifications/email/digest.txt", context),
        to=[user.email], headers={
            "List-Unsubscribe": ", ".join(targets),
            # RFC 8058: the mail client POSTs "List-Unsubscribe=One-Click" to the https URL.
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Auto-Submitted": "auto-generated",
        })
    message.attach_alternative(render_to_string("notifications/email/digest.html", context),
                               "text/html")
    return message


# --- sending -------------------------------------------------------------------------------

def _since(run: DigestRun, frequency: str, now: datetime) -> datetime:
    previous = (DigestRun.objects.filter(user_id=run.user_id, until__isnull=False)
                .exclude(pk=run.pk).order_by("-until").values_list("until", flat=True).first())
    return previous or now - PERIOD_LENGTH[Frequency(frequency)]


def _send_one(run: DigestRun, now: datetime) -> str:
    frequency = Frequency.DAILY if run.period.startswith("d") else Frequency.WEEKLY
    user = _receivers().filter(pk=run.user_id).first()
    content = None
    if user is not None and digest_frequency(user.pk) == frequency:
        content = digest_content(user, since=_since(run, frequency, now), until=now)
    if user is None or content is None or not content.lines:
        status = DigestRun.Status.EMPTY
    else:
        digest_message(user, content, frequency=frequency).send()
        status = DigestRun.Status.SENT
    DigestRun.objects.filter(pk=run.pk).update(
        status=status, until=now, attempts=F("attempts") + 1,
        notifications=content.total if content else 0)
    return str(status)


def _failed(run_id: int) -> None:
    DigestRun.objects.filter(pk=run_id, status=DigestRun.Status.PENDING).update(
        attempts=F("attempts") + 1)
    DigestRun.objects.filter(pk=run_id, status=DigestRun.Status.PENDING,
                             attempts__gte=MAX_ATTEMPTS).update(status=DigestRun.Status.FAILED)


def digests_send(*, now: datetime | None = None) -> Counter[str]:
    """Send the pending digests; returns how many ended in each status."""
    started = now or timezone.now()
    counts: Counter[str] = Counter()
    last = 0
    while True:
        run_id = None
        try:
            with transaction.atomic():
                run = (DigestRun.objects.select_for_update(skip_locked=True)
                       .filter(Q(status=DigestRun.Status.PENDING), pk__gt=last,
                               created_at__gte=started - STALE_AFTER)
                       .order_by("pk").first())
                if run is None:
                    return counts
                last = run_id = run.pk
                counts[_send_one(run, now or timezone.now())] += 1
        except Exception:
            if run_id is None:
                raise
            logger.exception("digest %s not sent", run_id)
            _failed(run_id)
            counts["error"] += 1
