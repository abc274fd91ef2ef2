"""Reading the inbox: a person's notifications (by tab, newest state first), the unread
count, the preferences matrix, and the rows as the API and the web show them (a bounded
number of queries whatever the page size)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time
from typing import Any

from django.db.models import OuterRef, QuerySet, Subquery

from apps.accounts.models import User
from apps.core.errors import ApplicationError
from apps.moderation import selectors as moderation_selectors
from apps.moderation.models import Notice
from apps.notifications import types
from apps.notifications.digest.models import DigestSetting
from apps.notifications.models import CreatorPostSubscription, Inbox, Notification, Preference
from apps.notifications.services import texts
from apps.social.models import Follow, FollowRequest
from apps.social.selectors import SUMMARY_FIELDS, silenced_for_q


def parse_tab(raw: str | None) -> types.Tab:
    try:
        return types.Tab(raw or types.Tab.ALL)
    except ValueError:
        raise ApplicationError("Unknown tab: use all, likes, comments, mentions or followers.",
                               code="invalid", fields={"tab": [
                                   "Choose all, likes, comments, mentions or followers."]}
                               ) from None


def _own(user_id: int) -> QuerySet[Notification]:
    """The person's notifications as they may read them: none named after someone blocked
    either way or muted since it was stored (the rules stop new ones; this hides the old
    ones from the list, the unread count and the badge)."""
    return Notification.objects.filter(recipient_id=user_id).exclude(
        silenced_for_q(user_id, "actor_id"))


def notifications_for(user: User, *, tab: types.Tab = types.Tab.ALL) -> QuerySet[Notification]:
    """The person's own notifications only (anyone else's id is a 404 by construction)."""
    rows = _own(user.pk)
    names = types.names_for_tab(tab)
    if names is not None:
        rows = rows.filter(type__in=names)
    return rows


def unread_count_of(user_id: int) -> int:
    """One count over the partial index on unread rows (what the inbox lists): the inbox's,
    the websocket's and a push's badge."""
    return _own(user_id).filter(read_at__isnull=True).count()


def unread_count(user: User) -> int:
    return unread_count_of(user.pk)


@dataclass(frozen=True)
class Line:
    """A notification as shown: its words, where it leads, the actors to show, and for a
    follow request whether it is still pending (accept/decline from the row)."""

    notification: Notification
    title: str
    body: str
    path: str
    actors: list[User]
    request_pending: bool
    follows_back: bool


def lines_for(user: User, rows: list[Notification]) -> list[Line]:
    """Three queries however many rows: the actors, the pending follow requests among
    them, and whom the person already follows back."""
    actor_ids = {a for row in rows for a in row.actor_ids}
    # a group's other actors: nobody silenced since is named or shown
    actors = {u.pk: u for u in User.objects.filter(pk__in=actor_ids).exclude(
        silenced_for_q(user.pk, "pk")).only(*SUMMARY_FIELDS)}
    request_ids = [row.target_id for row in rows
                   if row.type == types.FOLLOW_REQUEST.name and row.target_id]
    pending = set(FollowRequest.objects.filter(pk__in=request_ids, target_id=user.pk)
                  .values_list("id", flat=True))
    follow_actor_ids = {row.actor_id for row in rows if row.type == types.FOLLOW.name}
    following = set(Follow.objects.filter(follower_id=user.pk, followee_id__in=follow_actor_ids)
                    .values_list("followee_id", flat=True))
    names = {pk: u.username for pk, u in actors.items()}
    lines = []
    for row in rows:
        title, body = texts.sentence(row, names)
        lines.append(Line(
            notification=row, title=title, body=body, path=texts.path_of(row, names),
            actors=[actors[a] for a in row.actor_ids if a in actors],
            request_pending=row.target_id in pending,
            follows_back=row.actor_id in following))
    return lines


@dataclass(frozen=True)
class Preferences:
    matrix: list[dict[str, Any]]
    quiet_enabled: bool
    quiet_start: time | None
    quiet_end: time | None
    time_zone: str
    digest: str  # the e-mail digest: off, daily or weekly


def digest_frequency(user_id: int) -> str:
    """How often the person gets the e-mail digest (no choice made: weekly)."""
    chosen = (DigestSetting.objects.filter(user_id=user_id)
              .values_list("frequency", flat=True).first())
    return chosen or DigestSetting.DEFAULT


def preferences_for(user: User) -> Preferences:
    chosen = {(p.type, p.channel): p.enabled
              for p in Preference.objects.filter(user_id=user.pk)}
    matrix = []
    for kind in types.all_types():
        matrix.append({
            "type": kind.name, "label": kind.label, "mandatory": kind.mandatory,
            "channels": {str(ch): True if kind.mandatory else chosen.get(
                (kind.name, str(ch)), kind.default(ch)) for ch in types.Channel},
        })
    inbox = Inbox.objects.filter(user_id=user.pk).first()
    start = inbox.quiet_start if inbox else None
    end = inbox.quiet_end if inbox else None
    return Preferences(matrix=matrix, quiet_enabled=start is not None and end is not None,
                       quiet_start=start, quiet_end=end,
                       time_zone=inbox.time_zone if inbox else "",
                       digest=digest_frequency(user.pk))


def creator_subscription_level(user: User, creator: User) -> str:
    level = (CreatorPostSubscription.objects.filter(user_id=user.pk, creator_id=creator.pk)
             .values_list("level", flat=True).first())
    return level or CreatorPostSubscription.Level.OFF


def notices_with_read_state(user: User) -> QuerySet[Notice]:
    """The person's moderation notices (`moderation.selectors.notices_for`), each with
    `read_at` from its notification: the inbox's read state is the only one (None:
    unread, or its notification is not written yet)."""
    return moderation_selectors.notices_for(user).annotate(read_at=Subquery(
        Notification.objects.filter(recipient_id=user.pk, target_type="notice",
                                    target_id=OuterRef("pk")).values("read_at")[:1]))
