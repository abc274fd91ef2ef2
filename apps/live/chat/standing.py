"""A connection's standing in a live's chat, kept between its messages.

A chat message used to read, every time, what changes only when someone acts: the live
through `live_for` (THE visibility rule: ~10 ms of ORM work, the costliest read of the
post), the staff's limits, the poster's role, their mute, the host's moderators. A socket
(`consumer.LiveChatConsumer`) now keeps them in a `StandingCache` and reads them again only
when one of four **version keys** in the cache (Redis) changed since, one MGET a message:

- `live:chatv:live:<live>`: the live's chat settings, mutes and unmutes in it, its end;
- `live:chatv:host:<host>`: the host's moderators, bans and unbans (bans are per host);
- `live:chatv:user:<user>`: the poster blocked someone, or was blocked (social's hooks);
  the rooms read it too, for the authors of what they send out (`user_versions`);
- `live:chatv:policy`: a staff edit of the `LivePolicy` (the limits).

Every writer sets the key to a fresh token **after its commit** (`bump_on_commit`), so a
reader that loaded the old state under the old token sees the new token on its next
message and loads again. What no event announces (the host's account suspended, a viewer's
unfollow of a followers-only live) is caught by a reload every `MAX_AGE_SECONDS`. While
Redis is away (the cache answers from its per-process stand-in) nothing is kept: every
message reads everything, as before. Per message still: whether the poster follows the host
when the chat is followers-only, slow mode and the rate limits (counted in the cache), and
moderation's text checks. The HTTP route (`POST .../chat`) has no connection and reads
everything each time.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.db import transaction

from apps.accounts.models import User
from apps.live.chat import selectors
from apps.live.chat.limits import ChatLimits, chat_limits
from apps.live.models import LiveMute, LiveStream
from apps.live.selectors import live_for

logger = logging.getLogger(__name__)

MAX_AGE_SECONDS = 30.0
VERSION_TTL = 24 * 3600
POLICY_KEY = "live:chatv:policy"


def live_key(live_id: int) -> str:
    return f"live:chatv:live:{live_id}"


def host_key(host_id: int) -> str:
    return f"live:chatv:host:{host_id}"


def user_key(user_id: int) -> str:
    return f"live:chatv:user:{user_id}"


def bump(keys: Iterable[str]) -> None:
    """New tokens for these keys (best effort: a lost bump is caught by the reload after
    MAX_AGE_SECONDS)."""
    token = uuid.uuid4().hex
    try:
        cache.set_many(dict.fromkeys(keys, token), timeout=VERSION_TTL)
    except Exception:  # the cache never raises by design; be sure
        logger.warning("live chat: standing versions not bumped", exc_info=True)


def bump_on_commit(
    *,
    live_id: int | None = None,
    host_id: int | None = None,
    user_ids: Iterable[int] = (),
    policy: bool = False,
) -> None:
    keys = [user_key(int(u)) for u in user_ids]
    if live_id is not None:
        keys.append(live_key(live_id))
    if host_id is not None:
        keys.append(host_key(host_id))
    if policy:
        keys.append(POLICY_KEY)
    transaction.on_commit(lambda: bump(keys))


def on_block_changed(*, blocker_id: int, blocked_id: int) -> None:
    """social's blocked / unblocked hooks (inside the block's transaction)."""
    bump_on_commit(user_ids=(blocker_id, blocked_id))


@dataclass(frozen=True)
class Standing:
    live: LiveStream  # with its host, as `live_for` answered it
    role: str  # selectors.HOST / MODERATOR / ""
    mute: LiveMute | None  # the longest mute running when read (checked against now)
    limits: ChatLimits
    moderators: frozenset[int]  # the host's moderators (the payload's role)


def load(user: User, live_id: int | str) -> Standing:
    """Everything read fresh (raises what `live_for` raises)."""
    limits = chat_limits()
    live = live_for(user, live_id)
    role = selectors.role_of(live, user.pk)
    mute = selectors.active_mute(live.pk, user.pk) if not role else None
    return Standing(
        live=live,
        role=role,
        mute=mute,
        limits=limits,
        moderators=frozenset(selectors.moderator_ids(live.host_id)),
    )


def _versions(keys: list[str]) -> tuple[str | None, ...] | None:
    """The keys' tokens, or None when Redis did not answer (its stand-in is per process:
    another process's bump would not be seen)."""
    read = getattr(cache, "get_many_from_redis", None)
    if read is None:
        return None
    found, from_redis = read(keys)
    if not from_redis:
        return None
    return tuple(found.get(key) for key in keys)


def user_versions(user_ids: list[int]) -> dict[int, str | None] | None:
    """Each person's `user_key` token (their blocks, either way), or None while Redis is
    away. The live chat's rooms read it for a window's authors (`room.Room`): a block
    made during a live applies to the open sockets at once."""
    found = _versions([user_key(u) for u in user_ids])
    return None if found is None else dict(zip(user_ids, found, strict=True))


class StandingCache:
    """One connection's standing (a socket posts as one person in one live)."""

    def __init__(self, *, live_id: int, host_id: int, user_id: int) -> None:
        self.live_id = live_id
        self.keys = [live_key(live_id), host_key(host_id), user_key(user_id), POLICY_KEY]
        self._kept: tuple[Standing, tuple[str | None, ...], float] | None = None
        self.loads = 0  # how many times it read everything (tests, the bench)

    def get(self, user: User) -> Standing:
        # versions first, then the reads: a change committed in between leaves a newer
        # token than the one kept, so the next message reads again
        versions = _versions(self.keys)
        kept = self._kept
        now = time.monotonic()
        if (
            kept is not None
            and versions is not None
            and kept[1] == versions
            and now - kept[2] < MAX_AGE_SECONDS
        ):
            return kept[0]
        self._kept = None
        standing = load(user, self.live_id)
        self.loads += 1
        if versions is not None:
            self._kept = (standing, versions, now)
        return standing
