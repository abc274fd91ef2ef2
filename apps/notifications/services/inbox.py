"""Writing the inbox: events become notifications (idempotent, grouped, in batches), and
reading them (mark one / all read).

`notify(candidates)` is the one way a notification is made: it claims each event's key
(`NotificationEvent`, INSERT ... ON CONFLICT DO NOTHING: a hook that fired twice is told
once), applies the rules (`services.rules`), hands out the recipients' next seqs (one
statement for the batch: the `Inbox` rows stay locked until the commit, so per recipient
seqs commit in order), joins open groups or inserts new rows (one multi-row INSERT), and
enqueues the delivery of each new state after the commit (the task outbox).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from datetime import datetime

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models.expressions import RawSQL
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import NotFoundError
from apps.core.ids import allocate_ids
from apps.core.outbox import enqueue_on_commit
from apps.notifications import live, types
from apps.notifications.models import Notification, NotificationEvent
from apps.notifications.services import rules
from apps.notifications.services._common import Candidate, position

# Avatars a group keeps (the latest actors first).
KEPT_ACTORS = 3
NOTIFICATION_NOT_FOUND = "Notification not found."


def _claim(keys: Sequence[str]) -> set[str]:
    """Record the event keys; the ones this call recorded (a key seen before is skipped,
    and a concurrent claim of the same key waits for the other transaction)."""
    if not keys:
        return set()
    table = connection.ops.quote_name(NotificationEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (key, created_at) "  # noqa: S608 - name from _meta
            "SELECT DISTINCT k, now() FROM unnest(%s::varchar[]) AS k "
            "ON CONFLICT (key) DO NOTHING RETURNING key", [list(keys)])
        return {row[0] for row in cursor.fetchall()}


def _next_seqs(counts: Counter[int]) -> dict[int, int]:
    """Reserve `counts[r]` seqs for each recipient; returns the first of each range. Rows
    are inserted/updated in recipient order (no deadlock between two batches)."""
    ids = sorted(counts)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO notifications_inbox (user_id, last_seq, time_zone, updated_at) "
            "SELECT u, n, '', now() FROM unnest(%s::bigint[], %s::bigint[]) AS t(u, n) "
            "ORDER BY u "
            "ON CONFLICT (user_id) DO UPDATE SET "
            "last_seq = notifications_inbox.last_seq + EXCLUDED.last_seq, updated_at = now() "
            "RETURNING user_id, last_seq", [ids, [counts[i] for i in ids]])
        return {user_id: last - counts[user_id] + 1 for user_id, last in cursor.fetchall()}


def _grow(row: Notification, candidate: Candidate, *, seq: int, now: datetime) -> None:
    key = candidate.order_key
    latest = not key or position(candidate.data, key) >= position(row.data, key)
    if candidate.actor_id is not None:
        kept = [a for a in row.actor_ids if a != candidate.actor_id]
        if latest:
            row.actor_ids = [candidate.actor_id, *kept][:KEPT_ACTORS]
            row.actor_id = candidate.actor_id
        elif candidate.actor_id not in row.actor_ids:
            row.actor_ids = [*row.actor_ids, candidate.actor_id][:KEPT_ACTORS]
    row.actor_count += 1
    if latest:
        row.data = {**row.data, **candidate.data}
    row.seq = seq
    row.read_at = None  # grown since it was read: unread again, on top
    row.updated_at = now


def _link_events(by_key: dict[str, Notification]) -> None:
    """Each claimed event key -> the notification it went into, in one statement (a
    fan-out batch links thousands: bulk_update's CASE per key costs seconds there)."""
    table = connection.ops.quote_name(NotificationEvent._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS e SET notification_id = t.id "  # noqa: S608 - name from _meta
            "FROM unnest(%s::varchar[], %s::bigint[]) AS t(key, id) WHERE e.key = t.key",
            [list(by_key), [row.pk for row in by_key.values()]])


def _array_literal(ids: Sequence[int]) -> str:
    """A bigint[] as text: one element of a text[] parameter (unnest cannot take a 2-D array
    of rows of different lengths)."""
    return "{" + ",".join(map(str, ids)) + "}"


def _insert(rows: Sequence[Notification]) -> None:
    """One INSERT ... SELECT FROM unnest(arrays): a column per parameter, whatever the
    number of rows (bulk_create's 15 placeholders a row made psycopg split a 75,000
    placeholder statement per fan-out batch)."""
    if not rows:
        return
    stamp = timezone.now()  # what bulk_create's auto_now(_add) wrote
    for r in rows:
        r.created_at = r.updated_at = stamp
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (id, recipient_id, type, target_type, target_id, "  # noqa: S608
            "group_key, group_until, actor_id, actor_ids, actor_count, data, seq, read_at, "
            "created_at, updated_at) "
            "SELECT id, recipient_id, type, target_type, target_id, group_key, group_until, "
            "actor_id, actor_ids::bigint[], actor_count, data::jsonb, seq, NULL, created_at, "
            "updated_at FROM unnest(%s::bigint[], %s::bigint[], %s::varchar[], %s::varchar[], "
            "%s::bigint[], %s::varchar[], %s::timestamptz[], %s::bigint[], %s::text[], "
            "%s::integer[], %s::text[], %s::bigint[], %s::timestamptz[], %s::timestamptz[]) "
            "AS t(id, recipient_id, type, target_type, target_id, group_key, group_until, "
            "actor_id, actor_ids, actor_count, data, seq, created_at, updated_at)",
            [[r.pk for r in rows], [r.recipient_id for r in rows], [r.type for r in rows],
             [r.target_type for r in rows], [r.target_id for r in rows],
             [r.group_key for r in rows], [r.group_until for r in rows],
             [r.actor_id for r in rows],
             [_array_literal(r.actor_ids) for r in rows],
             [r.actor_count for r in rows], [json.dumps(r.data, cls=DjangoJSONEncoder)
                                             for r in rows],
             [r.seq for r in rows], [r.created_at for r in rows],
             [r.updated_at for r in rows]])


def _update_grown(rows: Sequence[Notification]) -> None:
    """The grown groups in one UPDATE ... FROM unnest(arrays) (a personalised fan-out batch
    grows thousands of "new videos" groups: one UPDATE each was a round trip per row)."""
    if not rows:
        return
    table = connection.ops.quote_name(Notification._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS n SET actor_id = t.actor_id, "  # noqa: S608 - name from _meta
            "actor_ids = t.actor_ids::bigint[], actor_count = t.actor_count, "
            "data = t.data::jsonb, seq = t.seq, read_at = NULL, updated_at = t.updated_at "
            "FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::integer[], %s::text[], "
            "%s::bigint[], %s::timestamptz[]) "
            "AS t(id, actor_id, actor_ids, actor_count, data, seq, updated_at) WHERE n.id = t.id",
            [[r.pk for r in rows], [r.actor_id for r in rows],
             [_array_literal(r.actor_ids) for r in rows],
             [r.actor_count for r in rows],
             [json.dumps(r.data, cls=DjangoJSONEncoder) for r in rows],
             [r.seq for r in rows], [r.updated_at for r in rows]])


def _write(candidates: Sequence[Candidate], now: datetime) -> list[Notification]:
    starts = _next_seqs(Counter(c.recipient_id for c in candidates))
    grouped = [c for c in candidates if c.group_key]
    open_groups: dict[tuple[int, str], Notification] = {}
    if grouped:
        for row in Notification.objects.filter(
                recipient_id__any={c.recipient_id for c in grouped},
                group_key__any={c.group_key for c in grouped},
                group_until__gt=now).order_by("group_until"):
            open_groups[(row.recipient_id, row.group_key)] = row  # the latest open one
    new: list[Notification] = []
    made: set[int] = set()
    grown: dict[int, Notification] = {}
    by_key: dict[str, Notification] = {}
    for c in candidates:
        seq = starts[c.recipient_id]
        starts[c.recipient_id] += 1
        group = open_groups.get((c.recipient_id, c.group_key)) if c.group_key else None
        if group is not None:
            _grow(group, c, seq=seq, now=now)
            if id(group) not in made:  # a row of this batch is inserted grown
                grown[group.pk] = group
            row = group
        else:
            window = types.get(c.type).group_window
            row = Notification(
                recipient_id=c.recipient_id, type=c.type, target_type=c.target_type,
                target_id=c.target_id, group_key=c.group_key,
                group_until=now + window if c.group_key and window else None,
                actor_id=c.actor_id, actor_ids=[c.actor_id] if c.actor_id else [],
                actor_count=1, data=dict(c.data), seq=seq, created_at=now, updated_at=now)
            new.append(row)
            made.add(id(row))
            if c.group_key:
                open_groups[(c.recipient_id, c.group_key)] = row
        by_key[c.key] = row
    for row, pk in zip(new, allocate_ids(len(new)), strict=True):
        row.pk = pk
    _insert(new)
    _update_grown(list(grown.values()))
    _link_events(by_key)
    return [*new, *grown.values()]


def notify(candidates: Sequence[Candidate], *, now: datetime | None = None) -> list[Notification]:
    """Tell each candidate's recipient, once per event key, if the rules allow; returns the
    notifications created or grown (each then delivered on the other channels)."""
    from apps.notifications.tasks import (  # tasks import services
        deliver_batch,
        deliver_notification,
    )

    now = now or timezone.now()
    with transaction.atomic():
        fresh = _claim([c.key for c in candidates])
        todo: list[Candidate] = []
        for c in candidates:
            if c.key in fresh:
                fresh.discard(c.key)  # the same key twice in one batch: once
                todo.append(c)
        todo = rules.allowed(todo, now=now)
        if not todo:
            return []
        rows = _write(todo, now)
        # live first: commit hooks run in order; then the other channels in one task for
        # the batch (a task per row was an outbox row and a broker send each: 500 of them
        # took seconds after a 500-recipient call, in the caller's thread)
        live.announce_on_commit(rows)
        if len(rows) == 1:
            enqueue_on_commit(deliver_notification, str(rows[0].pk), rows[0].seq)
        else:
            enqueue_on_commit(deliver_batch, [[str(row.pk), row.seq] for row in rows],
                              announce=False)
    return rows


# --- read state ------------------------------------------------------------------------------


def notification_mark_read(*, user: User, notification_id: int) -> Notification:
    """Mark one of the user's notifications read; someone else's id is a 404."""
    with transaction.atomic():
        row = Notification.objects.filter(pk=notification_id, recipient_id=user.pk).first()
        if row is None:
            raise NotFoundError(NOTIFICATION_NOT_FOUND)
        if row.read_at is None:
            row.read_at = timezone.now()
            if Notification.objects.filter(pk=row.pk, read_at__isnull=True).update(
                    read_at=row.read_at):
                live.unread_changed_on_commit(user.pk)
    return row


def notifications_mark_read_about(*, user: User, target_type: str,
                                  target_ids: Sequence[int]) -> int:
    """Mark read the user's notifications about these targets (the moderation notices
    the /notices page just showed)."""
    with transaction.atomic():
        marked = Notification.objects.filter(
            recipient_id=user.pk, target_type=target_type, target_id__in=list(target_ids),
            read_at__isnull=True).update(read_at=timezone.now())
        if marked:
            live.unread_changed_on_commit(user.pk)
        return marked


def notifications_data_replace(*, recipient_ids: Sequence[int], group_key: str,
                               match: dict[str, str], changes: dict[str, str]) -> int:
    """What a notification quoted changed (a direct message unsent, removed by moderation,
    edited or restored): the rows of these recipients in that group whose data matches
    `match` show `changes` from now on (the in-app list reads them; a push already sent
    is not called back). One statement; returns the rows changed."""
    return Notification.objects.filter(
        recipient_id__in=list(recipient_ids), group_key=group_key,
        **{f"data__{key}": value for key, value in match.items()},
    ).update(data=RawSQL("data || %s::jsonb", [json.dumps(changes)]))


def notifications_mark_all_read(*, user: User, up_to_seq: int | None = None) -> int:
    """Mark every unread notification read (up to `up_to_seq`, what the person saw, when
    given: one that arrived meanwhile stays unread). Returns how many."""
    rows = Notification.objects.filter(recipient_id=user.pk, read_at__isnull=True)
    if up_to_seq is not None:
        rows = rows.filter(seq__lte=up_to_seq)
    with transaction.atomic():
        marked = rows.update(read_at=timezone.now())
        if marked:
            live.unread_changed_on_commit(user.pk)
        return marked
