"""The direct messages socket's database work (`consumers.MessagesConsumer`), each call one
trip to a thread of the socket's own pools: connect, subscribe (with the first replay batch),
replays and gap reads, a reader's own view of a message, sends and read marks."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from asgiref.sync import SyncToAsync
from channels.db import DatabaseSyncToAsync
from django.contrib.postgres.expressions import ArraySubquery
from django.db import DEFAULT_DB_ALIAS, close_old_connections, connections
from django.db.models import OuterRef

from apps.accounts.models import User
from apps.core import compiled_sql
from apps.core.errors import NotFoundError
from apps.messaging import live, policy, selectors, services
from apps.messaging.models import Conversation, HiddenMessage, Message, Participant
from apps.notifications.consumers import authenticate_socket
from apps.social.selectors import blocked_either_way

REPLAY_BATCH = 100


def _payloads(viewer: User, rows: list[Message]) -> list[dict[str, Any]]:
    from apps.messaging.api.serializers import message_payloads  # the API imports services

    return [dict(p) for p in message_payloads(viewer, rows)]


# a batch of replayed changes: (change_seq, payload) oldest first, and whether more follow
Changes = tuple[list[tuple[int, dict[str, Any]]], bool]

# The socket's database work runs on two pools of its own, not on Channels' one database
# thread (as live chat's, apps/live/chat/consumer.py): on that one thread every query of the
# process queued behind every other, so a send (a few dozen statements and the text checks)
# held up every delivery's gap read and every connect, and a reconnect storm of 5,000 sockets
# went through one query at a time while the thread mostly waited for PostgreSQL. Sends and
# read marks on one pool, connects, subscribes and replays on the other (a storm never
# queues the sends). Each thread has its own database connection (closed when old, like the
# one thread's, by DatabaseSyncToAsync); seq order is the conversation's row lock's, so
# sends may run side by side; the announcements cross at most (held, `GAP_WAIT`).
SEND_THREADS = 4
READ_THREADS = 4
_SEND_POOL = ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="messaging-send")
_READ_POOL = ThreadPoolExecutor(max_workers=READ_THREADS, thread_name_prefix="messaging-read")


# A pool thread's connection that answered within this many seconds is not pinged again
# before the next call: Django's CONN_HEALTH_CHECKS sends `SELECT 1` before the first
# statement after every close_old_connections, i.e. once per call here (connect and
# subscribe were 2 of a reconnect's 7 round trips; one of a send's). A connection that died
# meanwhile fails that call's first statement instead: the error marks it, and the close
# after the call drops it (the frame fails, the client retries with the same client id).
RECENTLY_USED = 5.0
_used = threading.local()


class _PoolWork(DatabaseSyncToAsync):  # type: ignore[misc]
    def thread_handler(self, loop: Any, *args: Any, **kwargs: Any) -> Any:
        close_old_connections()
        conn: Any = connections[DEFAULT_DB_ALIAS]  # the backend's health-check flags
        if (conn.connection is not None and conn.health_check_enabled
                and time.monotonic() - getattr(_used, "ok_at", -RECENTLY_USED) < RECENTLY_USED):
            conn.health_check_done = True
        _used.ok_at = -RECENTLY_USED
        try:
            result = SyncToAsync.thread_handler(self, loop, *args, **kwargs)  # type: ignore[no-untyped-call]
            if not conn.errors_occurred:
                _used.ok_at = time.monotonic()
            return result
        finally:
            close_old_connections()


def _on(pool: ThreadPoolExecutor) -> Callable[[Callable[..., Any]], Callable[..., Awaitable[Any]]]:
    def wrap(func: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
        wrapped: Callable[..., Awaitable[Any]] = _PoolWork(
            func, thread_sensitive=False, executor=pool)
        return wrapped
    return wrap


@_on(_READ_POOL)
def connect(scope: dict[str, Any]) -> tuple[User | None, bool, int]:
    """(the user, whether someone logged in at all, their unread total): one trip to the
    database thread (a reconnect storm of thousands of sockets queues on that one thread,
    and each trip also pays Django's connection health check)."""
    user, logged_in = authenticate_socket.func(scope)  # a session token: 2 statements
    return user, logged_in, (selectors.unread_total(user) if user is not None else 0)


@_on(_READ_POOL)
def open_conversation(user: User, conversation_id: int, after: int | None
          ) -> tuple[Participant, set[int], int | None, int, set[str], Changes | None]:
    """(the membership, members blocked either way, the other person of a one-to-one, the
    conversation's latest seq, the messages deleted for them, and the first batch of the
    replay after `after` when there is one): read after the group was joined, in one trip
    and, when there is nothing to replay (a reconnect storm), one statement."""
    me = _membership(user, conversation_id)
    hidden = set(me.blocked_ids)
    others = me.other_ids
    other = (others[0] if me.conversation.kind == Conversation.Kind.DIRECT and others
             else None)
    last_seq = me.conversation.last_seq  # read with the membership, after the group join
    deleted = {str(pk) for pk in me.deleted_ids}
    # every change_seq is <= last_seq: a client at the latest seq has nothing to read
    first = (read_changes(user, me, after) if after is not None and after < last_seq
             and not (other is not None and other in hidden) else None)
    return me, hidden, other, last_seq, deleted, first


def _membership(user: User, conversation_id: int) -> Any:
    """`selectors.participant_for` (with the conversation) and, in the same statement, the
    other members' ids (any state, oldest membership first), those blocked either way with
    the reader, and the messages the reader deleted for themselves: 4 statements -> 1, on
    the path every reconnect takes. The statement is the ORM's (`_membership_query`),
    built and compiled once per process (`core.compiled_sql.statement_for_ids`) and run
    with this reader's and conversation's ids: building and compiling it (three array
    subqueries) cost ~2.9 ms of CPU a subscribe, twenty times its 0.15 ms in PostgreSQL
    (bench database, load ~8), i.e. about a third of the server's CPU per socket in a
    reconnect storm."""
    if not user.is_authenticated:
        raise NotFoundError(selectors.CONVERSATION_NOT_FOUND)
    sql, params, names = compiled_sql.statement_for_ids(
        ("messaging", "membership"), _membership_query, [user.pk, conversation_id])
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise NotFoundError(selectors.CONVERSATION_NOT_FOUND)
    values = dict(zip(names, row, strict=True))
    me = Participant.from_db(DEFAULT_DB_ALIAS, _P_FIELDS, [values[f] for f in _P_FIELDS])
    me.conversation = Conversation.from_db(
        DEFAULT_DB_ALIAS, _C_FIELDS, [values[f"conversation__{f}"] for f in _C_FIELDS])
    for name in ("other_ids", "blocked_ids", "deleted_ids"):
        setattr(me, name, values[name])
    return me


_P_FIELDS = [f.attname for f in Participant._meta.concrete_fields]
_C_FIELDS = [f.attname for f in Conversation._meta.concrete_fields]


def _membership_query(user_id: int, conversation_id: int) -> Any:
    members = Participant.objects.filter(conversation_id=OuterRef("conversation_id")).exclude(
        user_id=user_id).order_by("pk")
    return (Participant.objects.annotate(
        other_ids=ArraySubquery(members.values("user_id")),
        blocked_ids=ArraySubquery(members.filter(
            blocked_either_way(user_id, "user_id")).values("user_id")),
        deleted_ids=ArraySubquery(HiddenMessage.objects.filter(
            user_id=user_id, message__conversation_id=OuterRef("conversation_id"))
            .values("message_id")))
        .filter(conversation_id=conversation_id, user_id=user_id,
                state=Participant.State.ACTIVE)
        .values_list(*_P_FIELDS, *(f"conversation__{f}" for f in _C_FIELDS),
                     "other_ids", "blocked_ids", "deleted_ids")[:2])


def read_changes(user: User, participant: Participant, after: int) -> Changes:
    """The messages changed after `after` this member may see, oldest change first, as
    (change_seq, payload); and whether more follow."""
    rows = selectors.messages_for(participant, after_change_seq=after, limit=REPLAY_BATCH)
    payloads = _payloads(user, rows)
    return ([(int(row.change_seq or 0), p) for row, p in zip(rows, payloads, strict=True)],
            len(rows) == REPLAY_BATCH)


changes = _on(_READ_POOL)(read_changes)


@_on(_READ_POOL)
def personal(user: User, participant: Participant, message_id: str) -> dict[str, Any] | None:
    try:
        row = selectors.message_for(participant, message_id)
    except NotFoundError:
        return None
    return _payloads(user, [row])[0]


@dataclass
class Sent:
    message: Message
    created: bool
    payload: dict[str, Any]  # the message as its sender sees it
    support: dict[str, Any] | None  # helplines when the text read as self-harm
    announcements: list[live.Announcement]  # to send from the event loop (none: sent)


def announced_payload(message: Message,
                       announcements: list[live.Announcement]) -> dict[str, Any] | None:
    """The payload the new message was announced with, when its sender sees the same: a
    plain text (no reply quote, whose preview depends on the reader's blocks), visible, as
    new (no reactions yet). None: render it for the sender."""
    if message.kind != Message.Kind.TEXT or message.reply_to_id is not None or (
            message.state != Message.State.VISIBLE):
        return None
    for _, event in announcements:
        payload = event.get("message")
        if (event.get("type") == "msg.message" and isinstance(payload, dict)
                and payload.get("id") == str(message.pk) and not payload.get("reactions")):
            return payload
    return None


@_on(_SEND_POOL)
def send(user: User, frame: dict[str, Any], loop: asyncio.AbstractEventLoop | None = None
         ) -> Sent:
    """The send, the sender's view of the message and the support offer in one trip to
    the database thread. The announcements are sent from the event loop: with `loop` (the
    consumer's), handed to it as they are made, the new message's once its transaction
    commits (`live.collected_sends`), and `Sent.announcements` is empty; without, they
    come back in `Sent.announcements` to be sent."""
    with live.collected_sends(loop) as announcements:
        message, created = services.send_message(
            user, frame.get("conversation"), client_id=frame.get("client_id"),  # type: ignore[arg-type]
            kind=str(frame.get("kind") or Message.Kind.TEXT), body=frame.get("body") or "",
            shared_post_id=frame.get("shared_post"), shared_user_id=frame.get("shared_user"),
            asset_id=frame.get("asset"), reply_to_id=frame.get("reply_to"))
    payload = (announced_payload(message, announcements) if created else None) or (
        _payloads(user, [message])[0])
    return Sent(message, created, payload, policy.support_for(user, message.body),
                [] if loop is not None else list(announcements))


@_on(_SEND_POOL)
def mark_read(user: User, conversation_id: Any, seq: int) -> list[live.Announcement]:
    with live.collected_sends() as announcements:
        services.mark_read(selectors.participant_for(user, conversation_id), seq)
    return list(announcements)
