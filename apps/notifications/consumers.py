"""The live notifications websocket (`ws/notifications/`): the person's new and grown
notifications in the inbox API's shape, and the unread count.

Authenticated like the API: the web session cookie (Channels' AuthMiddlewareStack) or a
mobile client's `X-Session-Token` header (allauth's app session). Refused with a close
code after a JSON `error` message saying why: 4401 not logged in, 4403 deactivated.

Resume: `?after=<seq>` on the URL (or `{"type": "resume", "after": n}`) replays every
notification with a larger seq from PostgreSQL, oldest first, then live ones. The group is
joined BEFORE the replay query, so a state committed during the replay is announced to us;
Channels dispatches one message at a time, so those announcements wait in the channel
layer (the buffer) until the replay handler returns, and the ones the replay already sent
(seq <= the replayed max, or sent live before) are dropped: no loss, no duplicates.

Delivery: an announcement carries its item and the unread count (`live.announcements`,
built once per batch by the writer with the inbox's rules), sent as it is: no query per
delivery. A state older than one already sent for the same notification (two writers'
announcements crossing) is dropped; a bare announcement (the writer could not build the
item) is read back as before.

Order: states go out in seq order, so the client's last seq is a safe resume point. Two
writers' after-commit sends may cross (seq N+1 announced before N); per person seqs commit
in order (the `Inbox` row lock), so before an announcement past the connection's mark
(`upto`: every state up to it sent, superseded or hidden) what lies between is sent from
PostgreSQL, oldest first (one query, only when there is a gap), and the late announcement
of N is then dropped as sent. Otherwise a client that got N+1 and lost the connection
resumed "after N+1" and never got N.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from allauth.core.internal.sessionkit import get_session_user
from allauth.headless import app_settings as headless_settings
from allauth.headless.internal import sessionkit
from allauth.headless.internal.sessionkit import authenticate_by_x_session_token
from allauth.headless.tokens.strategies.sessions import SessionTokenStrategy
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from apps.accounts.models import User
from apps.core.consumers import NoPerMessageDbCloseMixin
from apps.notifications import live, selectors
from apps.notifications.api.views import NotificationSerializer
from apps.notifications.models import Inbox, Notification

CLOSE_NOT_AUTHENTICATED = 4401
CLOSE_DEACTIVATED = 4403
REPLAY_BATCH = 100
# Seqs remembered per connection for dropping duplicates (older ones are below the mark).
SENT_KEPT = 2000


def _is_usable(user: Any) -> bool:
    return bool(user is not None and user.is_authenticated and user.is_active
                and user.deactivated_at is None and user.deletion_scheduled_for is None)


@database_sync_to_async
def authenticate_socket(scope: dict[str, Any]) -> tuple[User | None, bool]:
    """(the user, whether someone logged in at all): the session cookie, else the app
    session token. Read fresh: deactivation since the session began counts."""
    user = scope.get("user")
    if user is None or not user.is_authenticated:
        headers = dict(scope.get("headers") or [])
        token = headers.get(b"x-session-token", b"").decode("latin-1").strip()
        if token and type(headless_settings.TOKEN_STRATEGY) is SessionTokenStrategy:
            return _by_session_token(token)
        found = authenticate_by_x_session_token(token) if token else None
        user = found[0] if found else None
    if user is None or not user.is_authenticated:
        return None, False
    fresh = User.objects.filter(pk=user.pk).first()
    return (fresh if _is_usable(fresh) else None), True


def _by_session_token(token: str) -> tuple[User | None, bool]:
    """A mobile client's `X-Session-Token` (every socket of a reconnect storm) in 2
    statements, not 4: allauth's session token strategy asks whether the session exists
    before loading it (`sessionkit.lookup_session` loads it once), and the user read by
    `get_session_user` (which checks the session's auth hash) is already fresh. The same
    answers as the general path (tests/messaging/test_socket_connect_auth.py)."""
    session = sessionkit.lookup_session(token)
    user = get_session_user(session) if session is not None else None
    if user is None:
        return None, False
    return (user if _is_usable(user) else None), True  # type: ignore[return-value]


def _items(user: User, rows: list[Notification],
           silenced: list[int] | None = None) -> list[dict[str, Any]]:
    data = NotificationSerializer(selectors.lines_for(user, rows, silenced=silenced),
                                  many=True).data
    return [dict(item) for item in data]


@database_sync_to_async
def _after(user: User, after: int) -> list[dict[str, Any]]:
    # what the inbox lists (selectors' rule: nothing named after someone silenced since)
    silenced = selectors.silenced_for(user)
    rows = list(selectors.notifications_for(user, silenced=silenced).filter(seq__gt=after)
                .order_by("seq")[:REPLAY_BATCH])
    return _items(user, rows, silenced)


@database_sync_to_async
def _between(user: User, after: int, upto: int) -> list[dict[str, Any]]:
    """The states with a seq in (after, upto], oldest first (a gap before an announcement)."""
    silenced = selectors.silenced_for(user)
    rows = list(selectors.notifications_for(user, silenced=silenced)
                .filter(seq__gt=after, seq__lte=upto).order_by("seq")[:REPLAY_BATCH])
    return _items(user, rows, silenced)


@database_sync_to_async
def _state(user: User, notification_id: int, seq: int) -> dict[str, Any] | None:
    """The announced state, if it is still the row's current one (a group that grew again
    since has a newer announcement of its own)."""
    silenced = selectors.silenced_for(user)
    row = (selectors.notifications_for(user, silenced=silenced)
           .filter(pk=notification_id, seq=seq).first())
    return _items(user, [row], silenced)[0] if row is not None else None


@database_sync_to_async
def _unread(user: User) -> int:
    return selectors.unread_count(user)


@database_sync_to_async
def _latest_seq(user: User) -> int:
    """The person's last committed seq (read after joining the group: anything later is
    announced to us)."""
    return Inbox.objects.filter(user_id=user.pk).values_list("last_seq", flat=True).first() or 0


def seq_or_none(raw: Any) -> int | None:
    try:
        value = int(raw)
    except (TypeError, ValueError):
        return None
    return value if 0 <= value < 2**63 else None


class NotificationConsumer(NoPerMessageDbCloseMixin, AsyncJsonWebsocketConsumer):
    user: User | None = None
    group: str | None = None

    async def connect(self) -> None:
        await self.accept()  # a close code and a message need an open socket
        user, logged_in = await authenticate_socket(self.scope)
        if user is None:
            await self._refuse(
                CLOSE_DEACTIVATED if logged_in else CLOSE_NOT_AUTHENTICATED,
                "This account is deactivated: live notifications are off." if logged_in
                else "Log in to get live notifications.")
            return
        self.user = user
        self.sent: set[int] = set()
        self.latest: dict[str, int] = {}  # notification id -> the newest seq sent of it
        self.replayed_max = 0
        self.upto = 0  # every state up to this seq was sent (or superseded, or hidden)
        self.group = live.user_group(int(user.pk))
        await self.channel_layer.group_add(self.group, self.channel_name)
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        raw = query.get("after", [None])[0]
        after = seq_or_none(raw) if raw is not None else None
        if raw is not None and after is None:
            await self._refuse(4400, "after must be a seq: a whole number, 0 or more.")
            return
        await self._replay(after)

    async def _refuse(self, code: int, message: str) -> None:
        await self.send_json({"type": "error", "code": code, "message": message})
        await self.close(code=code)

    async def disconnect(self, code: int) -> None:
        if self.group is not None:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive_json(self, content: Any, **kwargs: Any) -> None:
        if not isinstance(content, dict) or content.get("type") != "resume":
            await self.send_json({"type": "error", "code": 4400,
                                  "message": 'Send {"type": "resume", "after": <seq>}.'})
            return
        after = seq_or_none(content.get("after"))
        if after is None:
            await self.send_json({"type": "error", "code": 4400,
                                  "message": "after must be a seq: a whole number, 0 or more."})
            return
        await self._replay(after)

    async def _replay(self, after: int | None) -> None:
        """Every state after `after` (none when absent), then the unread count and the seq
        the client is now up to date with (the end of the replay; without `after`, the
        person's latest seq: what the page it came from showed)."""
        assert self.user is not None
        unread = await _unread(self.user)
        upto = after if after is not None else await _latest_seq(self.user)
        mark = after
        while mark is not None:
            items = await _after(self.user, mark)
            for item in items:
                await self._send_item(item, unread)
            mark = items[-1]["seq"] if len(items) == REPLAY_BATCH else None
            if items:
                self.replayed_max = max(self.replayed_max, items[-1]["seq"])
                upto = max(upto, self.replayed_max)
        self.upto = max(self.upto, upto)
        await self.send_json({"type": "unread_count", "unread_count": await _unread(self.user),
                              "seq": upto})

    async def _send_item(self, item: dict[str, Any], unread: int) -> None:
        seq = int(item["seq"])
        if seq in self.sent or self.latest.get(str(item["id"]), -1) > seq:
            return  # sent, or a newer state of this notification was
        self.sent.add(seq)
        self.latest[str(item["id"])] = seq
        if len(self.sent) > SENT_KEPT:
            self.sent = set(sorted(self.sent)[SENT_KEPT // 2:])
            self.replayed_max = max(self.replayed_max, min(self.sent) - 1)
            self.latest = {pk: s for pk, s in self.latest.items() if s > self.replayed_max}
        await self.send_json({"type": "notification", "seq": seq, "notification": item,
                              "unread_count": unread})

    async def notification_new(self, event: dict[str, Any]) -> None:
        seq = int(event["seq"])
        if self.user is None or seq <= self.replayed_max or seq in self.sent:
            return  # the replay (or an earlier delivery) sent it
        while seq > self.upto + 1:  # lower seqs may still be on their way: send them first
            gap = await _between(self.user, self.upto, seq - 1)
            unread = await _unread(self.user)
            for item in gap:
                await self._send_item(item, unread)
            self.upto = gap[-1]["seq"] if len(gap) == REPLAY_BATCH else seq - 1
        self.upto = max(self.upto, seq)
        if isinstance(event.get("item"), dict):
            await self._send_item(event["item"], int(event["unread_count"]))
            return
        item = await _state(self.user, int(event["id"]), seq)
        if item is not None:
            await self._send_item(item, await _unread(self.user))

    async def notification_unread(self, event: dict[str, Any]) -> None:
        if self.user is not None:
            await self.send_json({"type": "unread_count",
                                  "unread_count": await _unread(self.user)})
