"""The direct messages websocket (`ws/messages/`, issue 15 "Delivery"): one per client.

Authenticated like the API and `ws/notifications/` (the session cookie, or a mobile
client's `X-Session-Token`); refused with a JSON `error` then a close code: 4401 not logged
in, 4403 deactivated. At connect the connection joins its person's group (inbox rows, read
state from their other devices, their own messages waiting for checks), is marked present
(`live.presence_key`: online people are not pushed), and says `{"type": "ready"}`.

Client frames (JSON):
- `{"type": "subscribe", "conversation": id, "after": change_seq?}`: `selectors.participant_for`
  (a 404-style error otherwise), joins the conversation's group, then replays every message
  changed after `after` (new, edited, unsent, reacted) oldest change first, then
  `{"type": "subscribed", "conversation", "upto"}`, then live changes. Without `after`, no
  replay: `upto` is the conversation's latest seq (the client read the page through the
  API). `{"type": "unsubscribe", "conversation": id}`.
- `{"type": "send", "conversation": id, "client_id": uuid, "kind": "text", "body": ...,
  "reply_to"?, "shared_post"?, "shared_user"?, "asset"?}`: `services.send_message`; a retry
  with the same client_id returns the first message. Answered `{"type": "ack", "client_id",
  "created", "message", "support"}` (support: helplines when the text read as self-harm,
  else null) or `{"type": "error", "code", "message", "fields", "client_id"}`.
- `{"type": "typing", "conversation": id}`: to the conversation's other connections (not
  the sender's own), at most one every TYPING_EVERY seconds.
- `{"type": "read", "conversation": id, "seq": n}`: `services.mark_read`.
- `{"type": "ping"}`: `{"type": "pong"}`.

Server frames: `message` ({"conversation", "change_seq", "message": the API's shape}),
`ack`, `typing` ({"conversation", "user": {id, username, display_name}}), `read`
({"conversation", "user", "seq"}: only from people who show read receipts, and the
person's own reads), `inbox` ({"conversation", "state", "unread_count", "unread_total",
"muted", "accepted", "archived", "last_message": preview or null}), `unsubscribed` ({"conversation",
"reason", "message"}: left, removed, blocked), `hidden` ({"conversation", "message"}: deleted
for this person on another of their connections), `error`.

Order, no loss, no duplicates (per conversation, by change_seq): the group is joined BEFORE
the replay reads, so a change committed meanwhile is announced to us and waits in the
channel layer until the replay returns (Channels runs one handler at a time); every change
up to the connection's mark (`upto`) was sent (or superseded by a later state that was, or
is not the reader's to see), and an announcement at or below it is dropped. Seqs commit in
order (the conversation's row lock), so an announcement past `upto + 1` means some before it
are still on their way (two writers' after-commit sends crossing) or were lost: it is held
up to GAP_WAIT for them (a crossing then costs no query), after which what lies between is
read from PostgreSQL (`messages_for(after_change_seq=upto)`) and sent in order, and the
late announcements are dropped. A client that reconnects subscribes with the last
change_seq it saw and loses nothing.

A member removed, leaving, or blocked (one-to-one) is dropped from the conversation's group
as soon as the change is announced (`msg.inbox` with a state other than active,
`msg.blocked`, or the system message naming them): nothing more reaches them.

The per-message path makes no query: the announcement carries the message rendered once
for everyone; the connection applies its person's view (blocked senders hidden, what they
joined after or cleared, `mine` on reactions). Only a shared post's card, which depends on
who reads it, is rendered again per connection.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.models import User
from apps.core import socket_gc
from apps.core.consumers import MalformedFrameMixin, NoPerMessageDbCloseMixin
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import parse_id
from apps.messaging import live, presence, selectors, socket_work
from apps.messaging.models import Participant
from apps.notifications.consumers import seq_or_none
from apps.social.selectors import is_blocked_between

logger = logging.getLogger(__name__)

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_DEACTIVATED = 4403
MAX_SUBSCRIPTIONS = 64
TYPING_EVERY = 2.0  # seconds between two typing announcements of one connection
# An announcement past a gap waits this long for the ones before it (two writers' sends
# crossing arrive within milliseconds) before the gap is read from PostgreSQL: under load a
# crossing costs no query per connection.
GAP_WAIT = 0.15
# typing: a hung Redis must not hold the connection long (presence's writes: `presence`)
REDIS_DEADLINE = 2.0
GONE_WORDS = {
    "left": "You left this conversation.",
    "removed": "You were removed from this conversation.",
    "blocked": "You can no longer message each other.",
    "gone": "This conversation is no longer available.",
}


# (the payload, its sender, whether it is rendered per reader, reactors, the quoted sender)
Held = tuple[dict[str, Any], str | None, bool, dict[str, list[str]] | None, str | None]


@dataclass
class Subscription:
    participant: Participant
    upto: int  # every change up to this change_seq was sent (or is not ours to see)
    hidden: set[int] = field(default_factory=set)  # members blocked either way
    direct_with: int | None = None  # the other person of a one-to-one
    typed_at: float = 0.0
    deleted_for_me: set[str] = field(default_factory=set)  # message ids (HiddenMessage)
    # announcements past a gap, waiting up to GAP_WAIT for the ones before them
    held: dict[int, Held] = field(default_factory=dict)
    filler: asyncio.Task[None] | None = None
    # one delivery at a time (the gap filler runs beside Channels' one-by-one handlers)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def stop(self) -> None:
        if self.filler is not None:
            self.filler.cancel()
            self.filler = None

    @property
    def floor(self) -> int:
        return max(self.participant.joined_seq, self.participant.cleared_seq)


def _error(exc: ApplicationError, **extra: Any) -> dict[str, Any]:
    return {"type": "error", "code": exc.code, "message": exc.message, "fields": exc.fields,
            **extra}


class MessagesConsumer(MalformedFrameMixin, NoPerMessageDbCloseMixin,
                       AsyncJsonWebsocketConsumer):
    user: User | None = None
    group: str | None = None

    async def connect(self) -> None:
        socket_gc.tune_once()  # a process holding these sockets: `core.socket_gc`
        await self.accept()  # a close code and a message need an open socket
        self.subs: dict[int, Subscription] = {}
        self.blocked: set[int] = set()  # blocks made while connected
        user, logged_in, unread_total = await socket_work.connect(self.scope)
        if user is None:
            await self._refuse(
                CLOSE_DEACTIVATED if logged_in else CLOSE_NOT_AUTHENTICATED,
                "This account is deactivated: messages are off." if logged_in
                else "Log in to get your messages.")
            return
        self.user = user
        self.me = str(user.pk)
        self.profile = {"id": self.me, "username": user.username,
                        "display_name": getattr(user, "display_name", "") or user.username}
        self.group = live.user_group(int(user.pk))
        await self.channel_layer.group_add(self.group, self.channel_name)
        # present before "ready" (online people are not pushed), refreshed by the process's
        # one presence writer (`presence`: one pipeline for every connection, not one each)
        await presence.connected(self.channel_layer, int(user.pk), self.channel_name)
        await self.send_json({"type": "ready", "user": self.me,
                              "unread_total": unread_total})

    async def _refuse(self, code: int, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.user is None:
            return
        for sub in self.subs.values():
            sub.stop()
        for cid in list(self.subs):
            await self.channel_layer.group_discard(live.conversation_group(cid),
                                                   self.channel_name)
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)
        # after the refreshes asked before it (the writer's batches run in order)
        await presence.disconnected(self.channel_layer, int(self.user.pk), self.channel_name)

    # --- client frames ----------------------------------------------------------------------

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if self.user is None:
            return
        kind = content.get("type") if isinstance(content, dict) else None
        handler = {"subscribe": self._subscribe, "unsubscribe": self._unsubscribe,
                   "send": self._send, "typing": self._typing, "read": self._read,
                   "ping": self._ping}.get(str(kind))
        if handler is None:
            await self.send_json({
                "type": "error", "code": "invalid",
                "message": "Unknown frame: type is one of subscribe, unsubscribe, send, "
                           "typing, read, ping."})
            return
        try:
            await handler(content)
        except ApplicationError as exc:
            await self.send_json(_error(exc, conversation=content.get("conversation"),
                                        client_id=content.get("client_id")))

    def _conversation_id(self, content: dict[str, Any]) -> int:
        cid = parse_id(content.get("conversation"))
        if cid is None:
            raise NotFoundError(selectors.CONVERSATION_NOT_FOUND)
        return cid

    async def _ping(self, content: dict[str, Any]) -> None:
        await self.send_json({"type": "pong"})

    async def _subscribe(self, content: dict[str, Any]) -> None:
        assert self.user is not None
        cid = self._conversation_id(content)
        raw = content.get("after")
        after = seq_or_none(raw) if raw is not None else None
        if raw is not None and after is None:
            raise ApplicationError("after must be a change_seq: a whole number, 0 or more.",
                                   fields={"after": ["A whole number, 0 or more."]})
        if cid not in self.subs and len(self.subs) >= MAX_SUBSCRIPTIONS:
            raise ApplicationError(f"At most {MAX_SUBSCRIPTIONS} conversations at once: "
                                   "unsubscribe from one first.", code="too_many")
        group = live.conversation_group(cid)
        # joined first: whatever commits from now on is announced to this connection
        await self.channel_layer.group_add(group, self.channel_name)
        try:
            me, hidden, other, last_seq, deleted, first = await socket_work.open_conversation(
                self.user, cid, after)
        except NotFoundError:
            if cid not in self.subs:
                await self.channel_layer.group_discard(group, self.channel_name)
            raise
        if after is not None:
            after = min(after, last_seq)  # a mark from the future would drop what follows
        sub = Subscription(me, upto=last_seq if after is None else after,
                           hidden=hidden | self.blocked, direct_with=other,
                           deleted_for_me=deleted)
        if other is not None and other in sub.hidden:
            self.subs.pop(cid, None)
            await self.channel_layer.group_discard(group, self.channel_name)
            raise NotFoundError(selectors.CONVERSATION_NOT_FOUND)
        previous = self.subs.get(cid)
        if previous is not None:
            previous.stop()
        self.subs[cid] = sub
        if after is not None and after < last_seq:  # every change_seq is <= last_seq:
            await self._catch_up(cid, sub, first=first)  # at the latest seq: nothing to read
            # what the replay read is at least everything committed before it began
            sub.upto = max(sub.upto, last_seq)
        await self.send_json({"type": "subscribed", "conversation": str(cid),
                              "upto": sub.upto})

    async def _catch_up(self, cid: int, sub: Subscription, until: int | None = None,
                        first: socket_work.Changes | None = None) -> None:
        """Send what changed after the connection's mark, from PostgreSQL (all of it, or up
        to the first change past `until`); `first`: the first batch, read already (with the
        subscribe's membership, in the same trip)."""
        assert self.user is not None
        more = True
        while more:
            if first is not None:
                (rows, more), first = first, None
            else:
                rows, more = await socket_work.changes(self.user, sub.participant, sub.upto)
            for change_seq, payload in rows:
                if change_seq > sub.upto:
                    sub.upto = change_seq
                    await self._frame(cid, change_seq, payload)
            if until is not None and sub.upto >= until:
                return

    async def _unsubscribe(self, content: dict[str, Any]) -> None:
        cid = self._conversation_id(content)
        await self._drop(cid, None)

    async def _drop(self, cid: int, reason: str | None) -> None:
        sub = self.subs.pop(cid, None)
        if sub is None:
            return
        sub.stop()
        await self.channel_layer.group_discard(live.conversation_group(cid), self.channel_name)
        if reason is not None:
            await self.send_json({"type": "unsubscribed", "conversation": str(cid),
                                  "reason": reason, "message": GONE_WORDS[reason]})

    async def _send(self, content: dict[str, Any]) -> None:
        assert self.user is not None
        if not content.get("client_id"):
            raise ApplicationError("client_id is required: a new id per message, the same "
                                   "one for a retry.", fields={"client_id": ["Required."]})
        # the other members' announcements go out from this event loop, not the database
        # thread, each as soon as it is made: the new message's at its commit, before the
        # send's after-commit work (`live.collected_sends`)
        sent = await socket_work.send(self.user, content, asyncio.get_running_loop())
        message = sent.message
        sub = self.subs.get(message.conversation_id)
        if sub is not None and message.change_seq is not None:
            await self._deliver(message.conversation_id, sub, int(message.change_seq),
                                sent.payload, sender=self.me)
        await self.send_json({"type": "ack", "client_id": message.client_id,
                              "created": sent.created, "message": sent.payload,
                              "support": sent.support})

    async def _typing(self, content: dict[str, Any]) -> None:
        cid = self._conversation_id(content)
        sub = self.subs.get(cid)
        if sub is None:
            raise ApplicationError("Subscribe to the conversation first.",
                                   code="not_subscribed")
        now = time.monotonic()
        if now - sub.typed_at < TYPING_EVERY:
            return
        sub.typed_at = now
        try:
            await asyncio.wait_for(self.channel_layer.group_send(
                live.conversation_group(cid),
                {"type": "msg.typing", "conversation": str(cid), "user": self.profile}),
                REDIS_DEADLINE)
        except Exception as exc:  # noqa: BLE001 - ephemeral
            logger.info("messaging: typing not sent (%s)", exc)

    async def _read(self, content: dict[str, Any]) -> None:
        assert self.user is not None
        seq = seq_or_none(content.get("seq"))
        if seq is None:
            raise ApplicationError("seq must be a whole number, 0 or more.",
                                   fields={"seq": ["A whole number, 0 or more."]})
        await live.send_collected(
            await socket_work.mark_read(self.user, self._conversation_id(content), seq))

    # --- announcements (channel layer) ------------------------------------------------------

    async def _frame(self, cid: int, change_seq: int | None, payload: dict[str, Any]) -> None:
        await self.send_json({"type": "message", "conversation": str(cid),
                              "change_seq": change_seq, "message": payload})

    async def _deliver(self, cid: int, sub: Subscription, change_seq: int,
                       payload: dict[str, Any], *, sender: str | None,
                       personal: bool = False, reactors: dict[str, list[str]] | None = None,
                       reply_sender: str | None = None) -> None:
        held: Held = (payload, sender, personal, reactors, reply_sender)
        async with sub.lock:
            if change_seq <= sub.upto:
                return  # sent already (replay, gap fill, or the ack's own delivery)
            if change_seq > sub.upto + 1:
                # earlier ones still on their way (two writers' sends crossing) or lost
                sub.held[change_seq] = held
                if sub.filler is None:
                    sub.filler = asyncio.create_task(self._fill_gap(cid, sub))
                return
            await self._emit(cid, sub, change_seq, held)
            while sub.upto + 1 in sub.held:  # what waited for this one
                await self._emit(cid, sub, sub.upto + 1, sub.held.pop(sub.upto + 1))
            sub.held = {k: v for k, v in sub.held.items() if k > sub.upto}
            if not sub.held:
                sub.stop()

    async def _fill_gap(self, cid: int, sub: Subscription) -> None:
        """The gap did not close by itself: read it from PostgreSQL (seqs commit in order,
        so everything up to the held announcements is there), in order, then drop what
        was held (sent from PostgreSQL in its latest state, or not this member's)."""
        await asyncio.sleep(GAP_WAIT)
        async with sub.lock:
            sub.filler = None
            if not sub.held:
                return
            until = max(sub.held)
            await self._catch_up(cid, sub, until=until)
            sub.upto = max(sub.upto, until)
            sub.held = {k: v for k, v in sub.held.items() if k > sub.upto}

    async def _emit(self, cid: int, sub: Subscription, change_seq: int, held: Held) -> None:
        """Send one announced change as this member sees it (the caller holds the lock)."""
        payload, sender, personal, reactors, reply_sender = held
        sub.upto = change_seq
        seq = payload.get("seq")
        if (sender is not None and int(sender) in sub.hidden) or (
                isinstance(seq, int) and seq <= sub.floor) or (
                str(payload.get("id")) in sub.deleted_for_me):
            return  # not this reader's to see
        if personal and self.user is not None:
            mine = await socket_work.personal(self.user, sub.participant, str(payload["id"]))
            if mine is None:
                return
            payload = mine
        if reactors:
            payload = {**payload, "reactions": [
                {**r, "mine": self.me in reactors.get(str(r.get("emoji")), [])}
                for r in payload.get("reactions") or []]}
        if reply_sender is not None and int(reply_sender) in sub.hidden and payload.get(
                "reply_to"):
            payload = {**payload, "reply_to": {**payload["reply_to"], "body_preview": ""}}
        await self._frame(cid, change_seq, payload)

    async def msg_message(self, event: dict[str, Any]) -> None:
        cid = int(event["conversation"])
        sub = self.subs.get(cid)
        if sub is None:
            return
        system = event.get("system") or {}
        if system.get("event") in ("removed", "left") and (
                self.me in (system.get("users") or [])
                or (system.get("event") == "left" and system.get("actor") == self.me)):
            await self._drop(cid, str(system["event"]))
            return
        await self._deliver(cid, sub, int(event["change_seq"]), event["message"],
                            sender=event.get("sender"), personal=bool(event.get("personal")),
                            reactors=event.get("reactors"),
                            reply_sender=event.get("reply_sender"))

    async def msg_own(self, event: dict[str, Any]) -> None:
        """One of the person's own messages waiting for (or refused by) its checks."""
        await self._frame(int(event["conversation"]), None, event["message"])

    async def msg_typing(self, event: dict[str, Any]) -> None:
        sub = self.subs.get(int(event["conversation"]))
        user = event.get("user") or {}
        if sub is None or user.get("id") == self.me or int(user.get("id", 0)) in sub.hidden:
            return
        await self.send_json({"type": "typing", "conversation": event["conversation"],
                              "user": user})

    async def msg_read(self, event: dict[str, Any]) -> None:
        reader = str(event["user"])
        sub = self.subs.get(int(event["conversation"]))
        if reader != self.me and (sub is None or int(reader) in sub.hidden):
            return
        await self.send_json({"type": "read", "conversation": event["conversation"],
                              "user": reader, "seq": event["seq"]})

    async def msg_inbox(self, event: dict[str, Any]) -> None:
        cid = int(event["conversation"])
        state = str(event.get("state"))
        sub = self.subs.get(cid)
        if state != Participant.State.ACTIVE:
            await self._drop(cid, state if state in GONE_WORDS else "gone")
        elif sub is not None and event.get("cleared_seq") is not None:
            sub.participant.cleared_seq = int(event["cleared_seq"])  # "delete chat for me"
        frame = {k: v for k, v in event.items() if k != "type"}
        await self.send_json({"type": "inbox", **frame})

    async def msg_hidden(self, event: dict[str, Any]) -> None:
        """One of the person's connections deleted a message for them."""
        sub = self.subs.get(int(event["conversation"]))
        if sub is not None:
            sub.deleted_for_me.add(str(event["message"]))
        await self.send_json({"type": "hidden", "conversation": event["conversation"],
                              "message": event["message"]})

    async def msg_unblocked(self, event: dict[str, Any]) -> None:
        others = [int(u) for u in event.get("users", []) if str(u) != self.me]
        for other in others:
            if await database_sync_to_async(is_blocked_between)(int(self.me), other):
                continue  # still blocked the other way
            self.blocked.discard(other)
            for sub in self.subs.values():
                sub.hidden.discard(other)

    async def msg_blocked(self, event: dict[str, Any]) -> None:
        others = [int(u) for u in event.get("users", []) if str(u) != self.me]
        self.blocked.update(others)
        for cid, sub in list(self.subs.items()):
            sub.hidden.update(others)
            if sub.direct_with in others:
                await self._drop(cid, "blocked")

