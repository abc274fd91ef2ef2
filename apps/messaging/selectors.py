"""Reads of direct messages.

`participant_for` is the one access rule: every endpoint, the websocket's subscribe and
the web pages call it, and it answers the same 404 for a conversation that does not exist,
one the caller never belonged to and one they left or were removed from (never reveal
that a conversation exists).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal, TypedDict

from django.db import connection
from django.db.models import F, Q, QuerySet, Sum
from django.utils import timezone

from apps.accounts.models import User
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import parse_id
from apps.messaging import policy
from apps.messaging.models import (
    Conversation,
    HiddenMessage,
    Message,
    MessagingSettings,
    Participant,
)
from apps.social.models import Block

CONVERSATION_NOT_FOUND = "Conversation not found."
MESSAGE_NOT_FOUND = "Message not found."
MAX_PAGE = 100

Folder = Literal["inbox", "requests", "archived"]
FOLDERS: tuple[Folder, ...] = ("inbox", "requests", "archived")


def participant_for(user: User, conversation_id: int | str) -> Participant:
    """The caller's active membership of the conversation (with the conversation), or a
    404: unknown, never a member, left and removed all look the same."""
    cid = parse_id(conversation_id)
    if cid is None or not user.is_authenticated:
        raise NotFoundError(CONVERSATION_NOT_FOUND)
    try:
        return (Participant.objects.select_related("conversation")
                .get(conversation_id=cid, user_id=user.pk, state=Participant.State.ACTIVE))
    except Participant.DoesNotExist:
        raise NotFoundError(CONVERSATION_NOT_FOUND) from None


def active_participants(conversation_id: int) -> QuerySet[Participant]:
    return Participant.objects.filter(conversation_id=conversation_id,
                                      state=Participant.State.ACTIVE)


def members_for(participant: Participant) -> QuerySet[Participant]:
    """The active members a participant may see, with their user (one query)."""
    return (active_participants(participant.conversation_id).select_related("user")
            .order_by("joined_at", "id"))


def _listed_q() -> Q:
    """A conversation shows in a list once something happened in it and until the person
    cleared it (delete chat for me) with nothing new since."""
    return Q(last_activity_at__isnull=False) & Q(conversation__last_seq__gt=F("cleared_seq"))


def _in_folder(rows: QuerySet[Participant], folder: Folder) -> QuerySet[Participant]:
    rows = rows.filter(_listed_q(), state=Participant.State.ACTIVE)
    if folder == "requests":
        return rows.filter(accepted_at__isnull=True)
    if folder == "archived":
        return rows.filter(accepted_at__isnull=False, archived_at__isnull=False)
    return rows.filter(accepted_at__isnull=False, archived_at__isnull=True)


def inbox_for(user: User, *, folder: Folder = "inbox") -> QuerySet[Participant]:
    """The person's conversations in a folder, pinned first then latest activity first.
    inbox: accepted, not archived; requests: not yet accepted (someone they do not follow
    wrote first); archived: accepted and archived."""
    rows = _in_folder(Participant.objects.filter(user_id=user.pk), folder)
    return rows.select_related("conversation").order_by(
        F("pinned_at").desc(nulls_last=True), F("last_activity_at").desc(nulls_last=True),
        "-id")


PINS_MAX = 5
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _cursor_of(last_activity_at: datetime | None, row_id: int) -> str:
    assert last_activity_at is not None
    stamp = (last_activity_at - _EPOCH) // timedelta(microseconds=1)
    return f"{stamp}.{row_id}"


def parse_inbox_cursor(raw: str | None) -> tuple[datetime, int] | None:
    """`<microseconds>.<row id>` as `inbox_page` writes it; anything else is a 400."""
    if raw is None:
        return None
    stamp, _, row_id = raw.partition(".")
    parsed = parse_id(row_id)
    if not (stamp.isascii() and stamp.isdigit() and len(stamp) <= 18) or parsed is None:
        raise ApplicationError("cursor: Invalid cursor.", fields={"cursor": ["Invalid cursor."]})
    return _EPOCH + timedelta(microseconds=int(stamp)), parsed


def inbox_page(user: User, *, folder: Folder, cursor: str | None,
               limit: int) -> tuple[list[InboxRow], str | None]:
    """A page of `inbox_for` as plain rows (`inbox_rows`): the first page starts with the
    pinned conversations (at most PINS_MAX), then the rest by latest activity, keyset-paged
    on (last_activity_at, id). One statement: the page's selection (the ORM's, so the folder
    rule stays `_in_folder`'s) is a subquery of the rows' read."""
    limit = max(1, min(limit, MAX_PAGE))
    rows = inbox_for(user, folder=folder).values_list("id", flat=True)
    position = parse_inbox_cursor(cursor)
    rest = rows.filter(pinned_at__isnull=True).order_by("-last_activity_at", "-id")
    parts = []
    if position is None:
        parts.append(rows.filter(pinned_at__isnull=False)[:PINS_MAX].query.sql_with_params())
    else:
        at, row_id = position
        rest = rest.filter(Q(last_activity_at__lt=at) | Q(last_activity_at=at, id__lt=row_id))
    parts.append(rest[:limit + 1].query.sql_with_params())
    selection = " UNION ALL ".join(f"({sql})" for sql, _ in parts)
    found = _inbox_rows(selection, [p for _, params in parts for p in params])
    pinned = [r for r in found if r["pinned_at"] is not None]
    page = [r for r in found if r["pinned_at"] is None]
    more = len(page) > limit
    page = page[:limit]
    last = page[-1] if more and page else None
    return pinned + page, (_cursor_of(last["last_activity_at"], last["id"]) if last else None)


class LastMessage(TypedDict):
    id: int
    seq: int | None
    kind: str
    state: str
    body: str
    data: Any
    created_at: datetime
    sender_id: int | None


class MemberRow(TypedDict):
    id: int
    username: str
    display_name: str
    avatar_sizes: Any
    role: str


class InboxRow(TypedDict):
    """One person's conversation as the inbox shows it: their `Participant` fields, the
    conversation's, the latest message they see (or None), how many active members and the
    first `INBOX_MEMBERS` of them (oldest membership first) with their user's card fields."""

    id: int
    conversation_id: int
    role: str
    unread_count: int
    last_read_seq: int
    accepted_at: datetime | None
    muted_until: datetime | None
    pinned_at: datetime | None
    archived_at: datetime | None
    last_activity_at: datetime | None
    kind: str
    name: str
    last_seq: int
    last_message: LastMessage | None
    member_count: int
    members: list[MemberRow]


INBOX_MEMBERS = 8  # members shown per row (a title names the first four others)


def inbox_rows(participants: Iterable[Participant]) -> list[InboxRow]:
    """`InboxRow`s of these memberships (any state, listed or not: a conversation's detail
    and the answers of its writes), in their order; one statement."""
    ids = [p.pk for p in participants]
    if not ids:
        return []
    by_id = {r["id"]: r for r in _inbox_rows("SELECT unnest(%s::bigint[])", [ids])}
    return [by_id[i] for i in ids if i in by_id]


def _inbox_rows(selection: str, params: list[Any]) -> list[InboxRow]:
    """The rows of the memberships whose ids `selection` (SQL) selects, pinned first, then
    latest activity first. Per row, index walks only: the latest message this member sees
    (past their join and clear, not deleted for them, not by someone blocked either way:
    `visible_messages_q`'s rule for the newest seq) on the (conversation, seq) unique
    index, and the members on (conversation, user); no model instances."""
    with connection.cursor() as cursor:
        cursor.execute(_INBOX_ROWS_SQL.format(selection=selection), params)
        found = cursor.fetchall()
    rows: list[InboxRow] = []
    for (pid, cid, role, unread, last_read, accepted_at, muted_until, pinned_at, archived_at,
         activity_at, kind, name, last_seq, mid, mseq, mkind, mstate, mbody, mdata, mcreated,
         msender, member_count, members) in found:
        rows.append({
            "id": pid, "conversation_id": cid, "role": role, "unread_count": unread,
            "last_read_seq": last_read, "accepted_at": accepted_at, "muted_until": muted_until,
            "pinned_at": pinned_at, "archived_at": archived_at, "last_activity_at": activity_at,
            "kind": kind, "name": name, "last_seq": last_seq,
            "last_message": None if mid is None else {
                "id": mid, "seq": mseq, "kind": mkind, "state": mstate, "body": mbody,
                "data": json.loads(mdata), "created_at": mcreated, "sender_id": msender},
            "member_count": member_count,
            "members": [{"id": uid, "username": username, "display_name": display_name,
                         "avatar_sizes": sizes, "role": member_role}
                        for uid, username, display_name, sizes, member_role in members or []],
        })
    return rows


_P = Participant._meta.db_table
# Table names and a constant only; `selection` is SQL this module builds (the ORM's, or an
# unnest of ids), its values passed as parameters.
_INBOX_ROWS_SQL = f"""
SELECT p.id, p.conversation_id, p.role, p.unread_count, p.last_read_seq, p.accepted_at,
       p.muted_until, p.pinned_at, p.archived_at, p.last_activity_at,
       c.kind, c.name, c.last_seq,
       m.id, m.seq, m.kind, m.state, m.body, m.data, m.created_at, m.sender_id,
       (SELECT count(*) FROM {_P} o
         WHERE o.conversation_id = p.conversation_id AND o.state = 'active'),
       (SELECT json_agg(json_build_array(u.id, u.username, u.display_name, u.avatar_sizes,
                                         f.role) ORDER BY f.joined_at, f.id)
          FROM (SELECT o.user_id, o.role, o.joined_at, o.id FROM {_P} o
                 WHERE o.conversation_id = p.conversation_id AND o.state = 'active'
                 ORDER BY o.joined_at, o.id LIMIT {INBOX_MEMBERS}) f
          JOIN {User._meta.db_table} u ON u.id = f.user_id)
  FROM ({{selection}}) AS sel(id)
  JOIN {_P} p ON p.id = sel.id
  JOIN {Conversation._meta.db_table} c ON c.id = p.conversation_id
  LEFT JOIN LATERAL (
       SELECT mm.id, mm.seq, mm.kind, mm.state, mm.body, mm.data, mm.created_at, mm.sender_id
         FROM {Message._meta.db_table} mm
        WHERE mm.conversation_id = p.conversation_id
          AND mm.seq > GREATEST(p.joined_seq, p.cleared_seq)
          AND NOT EXISTS (SELECT 1 FROM {HiddenMessage._meta.db_table} h
                           WHERE h.user_id = p.user_id AND h.message_id = mm.id)
          AND (mm.sender_id IS NULL OR mm.sender_id = p.user_id OR NOT EXISTS (
               SELECT 1 FROM {Block._meta.db_table} b
                WHERE (b.blocker_id = p.user_id AND b.blocked_id = mm.sender_id)
                   OR (b.blocker_id = mm.sender_id AND b.blocked_id = p.user_id)))
        ORDER BY mm.seq DESC LIMIT 1) m ON true
 ORDER BY p.pinned_at DESC NULLS LAST, p.last_activity_at DESC NULLS LAST, p.id DESC
"""  # noqa: S608


def unread_total(user: User) -> int:
    """Unread messages over the inbox's conversations (requests and muted ones excluded:
    they do not call for attention)."""
    return unread_totals([user.pk]).get(user.pk, 0)


def unread_totals(user_ids: Iterable[int]) -> dict[int, int]:
    """`unread_total` of several people in one query (the live inbox rows carry it)."""
    not_muted = Q(muted_until__isnull=True) | Q(muted_until__lte=timezone.now())
    rows = (_in_folder(Participant.objects.filter(user_id__in=list(user_ids)), "inbox")
            .filter(not_muted).order_by().values("user_id").annotate(n=Sum("unread_count")))
    return {row["user_id"]: int(row["n"] or 0) for row in rows}


def requests_count(user: User) -> int:
    return inbox_for(user, folder="requests").count()


def visible_messages_q(participant: Participant) -> Q:
    """What this member may see of the conversation's messages: from after they joined and
    after they last cleared it, not deleted for them, not by someone blocked either way;
    messages waiting for (or refused by) their checks only to their sender."""
    floor = max(participant.joined_seq, participant.cleared_seq)
    shown = Q(seq__gt=floor)
    own_waiting = Q(seq__isnull=True, sender_id=participant.user_id,
                    state__in=[Message.State.PENDING, Message.State.REJECTED])
    hidden = HiddenMessage.objects.filter(user_id=participant.user_id).values("message_id")
    return ((shown | own_waiting) & ~Q(pk__in=hidden)
            & ~policy.blocked_sender_q(participant.user_id))


def messages_for(participant: Participant, *, before_seq: int | None = None,
                 after_change_seq: int | None = None, limit: int = 50) -> list[Message]:
    """A page of what this member may see.

    - default / `before_seq`: newest first (infinite scroll up); the first page also holds
      the member's own messages still waiting for their checks (no seq yet) on top;
    - `after_change_seq`: every message changed after it (new, edited, unsent, reacted),
      oldest change first: what a client that resumes missed.
    """
    limit = max(1, min(limit, MAX_PAGE))
    rows = Message.objects.filter(conversation_id=participant.conversation_id)
    rows = rows.filter(visible_messages_q(participant))
    if after_change_seq is not None:
        rows = rows.filter(change_seq__gt=after_change_seq).order_by("change_seq")
    else:
        if before_seq is not None:
            rows = rows.filter(seq__lt=before_seq)
        rows = rows.order_by(F("seq").desc(nulls_first=True), "-id")
    return list(rows[:limit])


def message_for(participant: Participant, message_id: int | str) -> Message:
    """One message this member may see, or a 404."""
    mid = parse_id(message_id)
    if mid is None:
        raise NotFoundError(MESSAGE_NOT_FOUND)
    found = (Message.objects.filter(conversation_id=participant.conversation_id, pk=mid)
             .filter(visible_messages_q(participant)).first())
    if found is None:
        raise NotFoundError(MESSAGE_NOT_FOUND)
    return found


def read_positions(participant: Participant) -> dict[int, int]:
    """How far the other members have read (their last-read seq), for read receipts: only
    of those who show them (their setting; no settings row = shown)."""
    hiding = MessagingSettings.objects.filter(read_receipts=False).values("user_id")
    rows = (active_participants(participant.conversation_id)
            .exclude(user_id=participant.user_id).exclude(user_id__in=hiding)
            .values_list("user_id", "last_read_seq"))
    return {int(user_id): int(seq) for user_id, seq in rows}


def settings_for(user: User) -> MessagingSettings:
    """The person's messaging settings (an absent row is the defaults, unsaved)."""
    found = MessagingSettings.objects.filter(user_id=user.pk).first()
    return found if found is not None else MessagingSettings(user_id=user.pk)
