"""Real-time delivery of direct messages (issue 15, "Delivery"): the services call these
after their transaction commits (`services._common.announce_*`, `transaction.on_commit`),
and `consumers.MessagesConsumer` (`ws/messages/`) relays them to the clients.

Groups (channel layer): one per conversation (`conversation_group`: the connections that
subscribed to it, after `selectors.participant_for` said yes) and one per person
(`user_group`: every connection of theirs, for the inbox and their own waiting messages).

The per-message path costs the same however many members listen: the message is rendered
once (`api.serializers.message_payloads`, for no viewer in particular) and sent to the
conversation's group in one send; the members' inbox rows (unread count, the preview) are
read for them all at once and go to their groups in one `group_send_many`. A connection
adjusts what depends on the reader (its blocks, `mine` on reactions, a shared post's card)
itself.

Presence (`presence_*`): each `ws/messages/` connection keeps its channel name in the
person's Redis sorted set, scored by when it expires (refreshed while it lives); a person
with none is offline and is told of a new message through the notifications app
(`tasks.notify_offline` -> `offline.py`: in-app + push, grouped per conversation, not for
a muted conversation; see `offline_recipients`).

Best effort, like notifications' live delivery: PostgreSQL is the record and a client that
reconnects resumes from its last change_seq, so a Redis outage must neither fail nor slow a
send (the Redis breaker, a short deadline, errors logged and swallowed). Without Redis
nobody counts as online: the notification is sent (told twice rather than never)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache
from typing import Any

import redis
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from apps.core import redis_health
from apps.core.outbox import enqueue_on_commit
from apps.messaging import selectors
from apps.messaging.models import HiddenMessage, Message, MessagingSettings, Participant
from apps.notifications.live import send_to_groups
from apps.social.selectors import blocked_user_ids

logger = logging.getLogger(__name__)

# A connection's presence entry lives this long unless refreshed (the consumer refreshes
# it every PRESENCE_REFRESH_SECONDS): a crashed worker's connections go offline by then.
PRESENCE_TTL_SECONDS = 60
PRESENCE_REFRESH_SECONDS = 20
PREVIEW_CHARS = 80
# Announcements sent from an event loop (`send_collected`): the same bounds as
# notifications' after-commit sends (a hung Redis costs this once, then the breaker opens).
SEND_DEADLINE_SECONDS = 2.0
SEND_DEADLINE_PER_MESSAGE = 0.01

Announcement = tuple[str, dict[str, Any]]
# Set by `collected_sends`: the announcements made meanwhile (and the loop that sends them
# as they are made, if any)
_collected: ContextVar[tuple[list[Announcement], asyncio.AbstractEventLoop | None] | None] = (
    ContextVar("messaging_live_collected", default=None))


@contextmanager
def collected_sends(loop: asyncio.AbstractEventLoop | None = None
                    ) -> Iterator[list[Announcement]]:
    """Within, announcements (the services' after-commit ones included) are not sent from
    this (database) thread: sent from it they held it for Redis' round trips
    (`async_to_sync`), and every other socket's database work of the process queued behind
    them. They are collected in the list, and:
    - without `loop`, the caller, a websocket consumer, sends them from its event loop
      with `send_collected` after its database call returned;
    - with `loop` (the consumer's), each batch is handed to that loop as it is made
      (`send_collected` started there) and the list only records them: a new message
      reaches the other members when its transaction commits, not after the after-commit
      work that follows it in the same call (the offline members' check, the members'
      inbox rows, the sender's own view). The bench's trace at 1,000 sockets, load 10-14:
      a paced message's delivery waited ~230 ms for its send's database call."""
    collected: list[Announcement] = []
    token = _collected.set((collected, loop))
    try:
        yield collected
    finally:
        _collected.reset(token)


async def send_collected(messages: list[Announcement]) -> None:
    """Best effort, like `send_to_groups`: the group sends in a few Redis round trips
    (`group_send_many`), behind the Redis breaker and a deadline. A send the breaker or the
    deadline stopped is tried again in the background (`RETRY_DELAYS`), then logged: at
    5,000 sockets on a busy worker the breaker opened for moments (deadlines missed by a
    late event loop) and each dropped announcement was a message its members did not get
    until the next one or a reconnect. A retry cannot double anything: a connection drops
    a message at or below its mark, and inbox, read and own frames are states."""
    if await _send_once(messages, log=False):
        return
    task = asyncio.ensure_future(_send_again(messages))
    _retrying.add(task)
    task.add_done_callback(_retrying.discard)


# seconds before each retry of a send that failed (the breaker opens for 5 s)
RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0)
_retrying: set[asyncio.Future[None]] = set()  # the running retries (kept from the GC)


async def _send_again(messages: list[Announcement]) -> None:
    for n, delay in enumerate(RETRY_DELAYS, start=1):
        await asyncio.sleep(delay)
        if await _send_once(messages, log=n == len(RETRY_DELAYS)):
            return


async def _send_once(messages: list[Announcement], *, log: bool) -> bool:
    layer = get_channel_layer()
    if layer is None or not messages:
        return True
    deadline = SEND_DEADLINE_SECONDS + len(messages) * SEND_DEADLINE_PER_MESSAGE
    try:
        with redis_health.breaker().guard():
            send_many = getattr(layer, "group_send_many", None)
            if send_many is not None:
                await asyncio.wait_for(send_many(messages), deadline)
            else:
                for group, message in messages:
                    await asyncio.wait_for(layer.group_send(group, message), deadline)
    except Exception:  # the clients resume from PostgreSQL
        if log:
            logger.warning("messaging: live announcement failed", exc_info=True)
        else:
            logger.info("messaging: live announcement failed, trying again", exc_info=True)
        return False
    return True


def _send(messages: list[Announcement]) -> None:
    found = _collected.get()
    if found is None:
        send_to_groups(messages)
        return
    collected, loop = found
    collected.extend(messages)
    if loop is not None:
        try:
            loop.call_soon_threadsafe(_start_sending, list(messages))
        except RuntimeError:  # the loop closed (its server is stopping): clients resume
            logger.info("messaging: announcements not sent, the event loop is closed")


_sending: set[asyncio.Future[None]] = set()  # announcements handed to a loop, being sent


def _start_sending(messages: list[Announcement]) -> None:
    """On the loop `collected_sends` was given: send a batch the database thread made."""
    task = asyncio.ensure_future(send_collected(messages))
    _sending.add(task)
    task.add_done_callback(_sending.discard)


def conversation_group(conversation_id: int) -> str:
    return f"messaging.conv.{conversation_id}"


def user_group(user_id: int) -> str:
    return f"messaging.user.{user_id}"


def presence_key(user_id: int) -> str:
    return f"swipeme:messaging:online:{user_id}"


@cache
def _redis() -> redis.Redis:
    return redis_health.GuardedRedis.from_url(settings.REDIS_URL,
                                              **redis_health.hot_path_options())


def online_user_ids(user_ids: Iterable[int]) -> set[int]:
    """The people among `user_ids` with a live `ws/messages/` connection (one round trip).
    Redis unavailable: nobody (the caller tells them another way)."""
    ids = list(dict.fromkeys(user_ids))
    if not ids:
        return set()
    now = time.time()
    try:
        pipe = _redis().pipeline(transaction=False)
        for user_id in ids:
            pipe.zcount(presence_key(user_id), now, "+inf")
        counts = pipe.execute()
    except redis_health.OUTAGE_ERRORS as exc:
        logger.warning("messaging: presence unknown, Redis unavailable (%s)", exc)
        return set()
    return {user_id for user_id, n in zip(ids, counts, strict=True) if int(n) > 0}


def preview(payload: dict[str, Any]) -> dict[str, Any]:
    """What an inbox row shows of the latest message."""
    body = " ".join(str(payload.get("body") or "").split())
    return {"id": payload.get("id"), "seq": payload.get("seq"), "kind": payload.get("kind"),
            "sender": (payload.get("sender") or {}).get("id"),
            "body": body[:PREVIEW_CHARS], "unsent": bool(payload.get("unsent")),
            "removed": bool(payload.get("removed")),
            "created_at": payload.get("created_at")}


def _payload(message: Message) -> dict[str, Any]:
    from apps.messaging.api.serializers import message_payloads  # the API imports services

    [payload] = message_payloads(None, [message])
    return dict(payload)


def _reactors(message: Message) -> dict[str, list[str]]:
    """Who reacted with what (at most 32 members): each connection sets `mine` itself."""
    found: dict[str, list[str]] = {}
    for emoji, user_id in message.reactions.values_list("emoji", "user_id"):
        found.setdefault(emoji, []).append(str(user_id))
    return found


def _reply_sender(message: Message) -> str | None:
    if message.reply_to_id is None:
        return None
    sender = Message.objects.filter(pk=message.reply_to_id).values_list(
        "sender_id", flat=True).first()
    return str(sender) if sender else None


def message_changed(message: Message) -> None:
    """A message appeared or changed (edit, unsend, reaction, delivered after its checks).
    Visible ones go to the conversation's group, new ones also to the offline members;
    one waiting for or refused by its checks only to its sender's connections."""
    try:
        payload = _payload(message)
    except Exception:  # the payload could not be built: the clients resume from PostgreSQL
        logger.warning("messaging: live payload of %s failed", message.pk, exc_info=True)
        return
    if message.seq is None or message.state in (Message.State.PENDING,
                                                Message.State.REJECTED):
        if message.sender_id is not None:
            _send([(user_group(message.sender_id),
                             {"type": "msg.own", "conversation": str(message.conversation_id),
                              "message": payload})])
        return
    event: dict[str, Any] = {
        "type": "msg.message", "conversation": str(message.conversation_id),
        "change_seq": message.change_seq, "seq": message.seq,
        "sender": str(message.sender_id) if message.sender_id else None,
        "message": payload,
        # a shared post or profile card depends on who reads it: each connection renders it
        "personal": (message.kind in (Message.Kind.POST, Message.Kind.PROFILE)
                     and message.state not in Message.WITHOUT_CONTENT),
        "reactors": _reactors(message) if payload.get("reactions") else {},
        # a reply's quote is blanked for a reader blocked either way with its author
        "reply_sender": _reply_sender(message),
    }
    if message.kind == Message.Kind.SYSTEM:
        event["system"] = message.data
    _send([(conversation_group(message.conversation_id), event)])
    # the members' inbox rows follow from the service's inbox_changed (the same commit)
    if (message.change_seq == message.seq and message.kind != Message.Kind.SYSTEM
            and message.sender_id is not None):
        _notify_offline(message)


def _inbox_event(participant: Participant, shown: dict[str, Any] | None) -> dict[str, Any]:
    return {"type": "msg.inbox", "conversation": str(participant.conversation_id),
            "state": participant.state, "unread_count": participant.unread_count,
            "muted": _muted(participant), "accepted": participant.accepted_at is not None,
            "archived": participant.archived_at is not None, "last_message": shown,
            "cleared_seq": participant.cleared_seq}


def _muted(participant: Participant) -> bool:
    return participant.muted_until is not None and participant.muted_until > timezone.now()


def offline_recipients(message: Message) -> list[int]:
    """Who is told of a new message through the notifications app: every active member but
    its sender who has no live `ws/messages/` connection and has not muted the
    conversation. (Online anywhere = told by the socket's inbox row, not pushed.)"""
    now = timezone.now()
    candidates = list(Participant.objects.filter(
        Q(muted_until__isnull=True) | Q(muted_until__lte=now),
        conversation_id=message.conversation_id, state=Participant.State.ACTIVE,
    ).exclude(user_id=message.sender_id or 0).values_list("user_id", flat=True))
    online = online_user_ids(candidates)
    return [user_id for user_id in candidates if user_id not in online]


def _notify_offline(message: Message) -> None:
    try:
        offline = offline_recipients(message)
        if offline:
            from apps.messaging.tasks import notify_offline

            enqueue_on_commit(notify_offline, str(message.pk), [str(u) for u in offline])
    except Exception:  # best effort: the message itself is delivered and stored
        logger.warning("messaging: offline notification of %s failed", message.pk,
                       exc_info=True)


def read_moved(participant: Participant) -> None:
    """A member's last-read seq moved: the read receipt goes to the conversation's other
    connections if the reader shows read receipts (their setting); their own other
    connections always learn it (to clear the unread state there too)."""
    event = {"type": "msg.read", "conversation": str(participant.conversation_id),
             "user": str(participant.user_id), "seq": participant.last_read_seq}
    receipts = MessagingSettings.objects.filter(user_id=participant.user_id).values_list(
        "read_receipts", flat=True).first()
    group = (conversation_group(participant.conversation_id) if receipts in (None, True)
             else user_group(participant.user_id))
    _send([(group, event)])
    if participant.unread_count == 0:
        _dm_notifications_read(participant)


def _dm_notifications_read(participant: Participant) -> None:
    """Read in the thread: the notification about it is read too."""
    from apps.accounts.models import User
    from apps.notifications.services import notifications_mark_read_about

    try:
        notifications_mark_read_about(user=User(pk=participant.user_id),
                                      target_type="conversation",
                                      target_ids=[participant.conversation_id])
    except Exception:
        logger.warning("messaging: marking the DM notification read failed", exc_info=True)


def _latest_preview(conversation_id: int) -> tuple[Message | None, dict[str, Any] | None]:
    latest = (Message.objects.filter(conversation_id=conversation_id, seq__isnull=False)
              .exclude(kind=Message.Kind.SYSTEM).order_by("-seq")
              .only("id", "seq", "kind", "sender_id", "body", "state", "created_at").first())
    if latest is None:
        return None, None
    unsent = latest.state == Message.State.UNSENT
    return latest, preview({
        "id": str(latest.pk), "seq": latest.seq, "kind": latest.kind,
        "sender": {"id": str(latest.sender_id) if latest.sender_id else None},
        "body": "" if latest.state in Message.WITHOUT_CONTENT else latest.body,
        "unsent": unsent, "removed": latest.state == Message.State.REMOVED,
        "created_at": latest.created_at.isoformat()})


def inbox_changed(user_ids: Iterable[int], conversation_id: int, *,
                  new_message_id: int | None = None,
                  sender_blocked: set[int] | None = None) -> None:
    """These people's own row of the conversation changed (a new message, unread count,
    mute, accepted, or they left / were removed): each of their connections gets the row
    and the latest message's preview (a few queries for them all), and a connection
    subscribed to a conversation its person is no longer in drops it at once. After a
    send, `new_message_id` and `sender_blocked` (whom its sender blocked either way, read
    under the lock): when that message is still the latest, nobody has deleted it for
    themselves yet and its sender's blocks are known, two queries fewer."""
    ids = list(dict.fromkeys(int(u) for u in user_ids))
    if not ids:
        return
    rows = {p.user_id: p for p in Participant.objects.filter(
        user_id__in=ids, conversation_id=conversation_id).only(
            "user_id", "conversation_id", "state", "unread_count", "muted_until",
            "accepted_at", "archived_at", "joined_seq", "cleared_seq")}
    latest, shown = _latest_preview(conversation_id)
    totals = selectors.unread_totals(ids)
    unseen: set[int] = set()
    if latest is not None:
        # the preview follows messages_for's rules: not before the person joined or
        # cleared the chat, not deleted for them, not by someone blocked either way
        fresh = latest.pk == new_message_id and sender_blocked is not None
        if not fresh:
            unseen = set(HiddenMessage.objects.filter(message_id=latest.pk, user_id__in=ids)
                         .values_list("user_id", flat=True))
        if latest.sender_id is not None:
            blocked = sender_blocked if fresh and sender_blocked is not None else (
                blocked_user_ids(latest.sender_id))
            unseen |= blocked & set(ids)
    messages = []
    for user_id in ids:
        row = rows.get(user_id)
        if row is None:
            event: dict[str, Any] = {"type": "msg.inbox", "conversation": str(conversation_id),
                                     "state": "gone", "unread_count": 0}
        else:
            visible = (latest is not None and user_id not in unseen and latest.seq is not None
                       and latest.seq > max(row.joined_seq, row.cleared_seq))
            event = _inbox_event(row, shown if visible else None)
        event["unread_total"] = totals.get(user_id, 0)  # the badge, without asking again
        messages.append((user_group(user_id), event))
    _send(messages)


def message_hidden(user_id: int, conversation_id: int, message_id: int) -> None:
    """Deleted for this person only: their other connections drop it, and later changes of
    it (a reaction, an edit) do not bring it back."""
    _send([(user_group(user_id), {
        "type": "msg.hidden", "conversation": str(conversation_id), "message": str(message_id)})])


def blocked(blocker_id: int, blocked_id: int) -> None:
    """A block between two people: their connections stop showing each other's messages,
    typing and receipts, and drop the one-to-one conversation between them at once."""
    event = {"type": "msg.blocked", "users": [str(blocker_id), str(blocked_id)]}
    _send([(user_group(blocker_id), event), (user_group(blocked_id), event)])


def blocked_on_commit(*, blocker_id: int, blocked_id: int) -> None:
    """social's blocked hook (inside the block's transaction): `blocked` after the commit."""
    transaction.on_commit(lambda: blocked(blocker_id, blocked_id))


def unblocked(blocker_id: int, blocked_id: int) -> None:
    """An unblock: the pair's open connections show each other's messages again in their
    groups (each checks that no block is left the other way); a one-to-one dropped by the
    block comes back when it is opened again."""
    event = {"type": "msg.unblocked", "users": [str(blocker_id), str(blocked_id)]}
    _send([(user_group(blocker_id), event), (user_group(blocked_id), event)])


def unblocked_on_commit(*, blocker_id: int, blocked_id: int) -> None:
    """social's unblocked hook (inside the unblock's transaction): `unblocked` after commit."""
    transaction.on_commit(lambda: unblocked(blocker_id, blocked_id))
