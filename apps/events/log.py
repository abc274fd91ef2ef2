"""The event log: an append-only, consumer-group log of accepted event batches.

`EventLog` is the interface; `RedisStreamEventLog` implements it on one Redis Stream
(`events:{log}:stream`). A Kafka sink would implement the same four calls: `append` is a
produce, `read` a poll in a consumer group, `ack` a commit, and `reclaim` what a group
rebalance does for a dead consumer's partitions.

One log entry is one accepted HTTP batch (up to 500 events) with what the server stamped
on it (user id, received time, client info): one XADD per request keeps ingest cheap, and
the consumer's idempotency record is one row per entry.

Redis keys (all carry the `{log}` hash tag so that they could share a Redis Cluster slot):

- `events:{log}:stream` — the stream; entries have one field `b`, the JSON batch. Trimmed
  with an approximate MAXLEN (`EVENTS_STREAM_MAXLEN` entries) so Redis memory is bounded;
  a consumer that lags by more than that loses the oldest entries (a pending entry that
  was trimmed comes back from XAUTOCLAIM without fields; the consumer acks and skips it).
- `events:{log}:dead` — entries a consumer group failed to apply `MAX_DELIVERIES` times
  (with the reason), parked so that they stop blocking the group; capped at 10,000.
- `events:{log}:dedupe:<u:<user id>|s<length>:<session id>>:<client event id>` — a
  marker set with SET NX EX before appending; an event whose marker exists is a duplicate.
- `events:{log}:appended:<request token>` — the entry id of a request's batch, set by the
  same script as its XADD: an append (or a spool drain) with a token already appended is
  not repeated (a hung Redis may run an append whose caller gave up and spooled it).
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any, Protocol

import redis
from django.conf import settings

from apps.core import redis_health

STREAM_KEY = "events:{log}:stream"
DEAD_LETTER_KEY = "events:{log}:dead"
DEDUPE_PREFIX = "events:{log}:dedupe:"
APPENDED_PREFIX = "events:{log}:appended:"
DEFAULT_GROUP = "analytics"

_APPEND_ONCE = """
local done = redis.call('GET', KEYS[2])
if done then return done end
local entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', 'b', ARGV[2])
redis.call('SET', KEYS[2], entry, 'EX', ARGV[3])
return entry
"""


@dataclass(frozen=True)
class LoggedBatch:
    """What the log carries per entry. `events` are validated event dicts
    (`apps.events.schema.Event.as_log_dict`)."""

    user_id: int | None
    received_ms: int
    client: dict[str, str]
    events: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps({"u": self.user_id, "rt": self.received_ms, "c": self.client,
                           "e": self.events}, separators=(",", ":"))

    @classmethod
    def from_json(cls, raw: str) -> LoggedBatch:
        body = json.loads(raw)
        return cls(user_id=body["u"], received_ms=body["rt"], client=body.get("c") or {},
                   events=body["e"])


@dataclass(frozen=True)
class LogEntry:
    entry_id: str
    batch: LoggedBatch | None  # None: an entry that could not be decoded (acked, skipped)


class EventLog(Protocol):
    """The log's interface (Redis Streams today; Kafka could implement it)."""

    def append(self, batch: LoggedBatch, *, token: str | None = None) -> str:
        """Append one batch; returns the entry id. Raises on failure. With a `token`, a
        second append with the same token appends nothing (returns the first entry id)."""
        ...

    def read(self, *, group: str, consumer: str, count: int, block_ms: int | None = None
             ) -> list[LogEntry]:
        """New entries for this consumer of the group (delivered, pending until acked)."""
        ...

    def ack(self, *, group: str, entry_ids: Sequence[str]) -> int:
        """Mark entries processed by the group; returns how many were pending."""
        ...

    def reclaim(self, *, group: str, consumer: str, min_idle_ms: int, count: int
                ) -> list[LogEntry]:
        """Take over entries delivered to any consumer of the group but not acked for at
        least `min_idle_ms` (their consumer died or hung)."""
        ...


@cache
def redis_client() -> redis.Redis:
    """For background work (the consumer, the spool drain, operators' commands): one
    blocking connection pool per process on the project's Redis with 5 s timeouts (a burst
    waits for a free connection, a slow XREADGROUP or drain script is not cut short).
    Behind the breaker: while Redis is known to be unavailable a call fails at once."""
    pool = redis.BlockingConnectionPool.from_url(
        settings.REDIS_URL, decode_responses=True, max_connections=64, timeout=5,
        socket_timeout=5, socket_connect_timeout=5,
    )
    return redis_health.GuardedRedis(connection_pool=pool)


@cache
def ingest_client() -> redis.Redis:
    """For the event API's request path (dedupe markers, the append): the hot path's short
    timeouts (apps.core.redis_health), also for a free connection, so that a hung Redis
    costs one timeout before the batch is spooled, not seconds."""
    options = redis_health.hot_path_options()
    pool = redis.BlockingConnectionPool.from_url(
        settings.REDIS_URL, decode_responses=True, max_connections=64,
        timeout=options["socket_timeout"], **options,
    )
    return redis_health.GuardedRedis(connection_pool=pool)


def appended_marker_ttl() -> int:
    """How long an append's token is remembered: as long as the events' dedupe markers
    (a spooled batch is drained well within it)."""
    return max(int(settings.EVENTS_DEDUPE_TTL), 3600)


def consumer_name() -> str:
    """This process's consumer name in a group (host and pid: unique while alive)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _decode(entries: Any) -> list[LogEntry]:
    out: list[LogEntry] = []
    for entry_id, fields in entries or []:
        if fields is None:  # deleted (trimmed) while pending
            out.append(LogEntry(entry_id, None))
            continue
        try:
            out.append(LogEntry(entry_id, LoggedBatch.from_json(fields["b"])))
        except (KeyError, TypeError, ValueError):
            out.append(LogEntry(entry_id, None))
    return out


class RedisStreamEventLog:
    def __init__(self, client: redis.Redis | None = None, *, stream: str = STREAM_KEY,
                 maxlen: int | None = None) -> None:
        self.client = client or redis_client()
        self.stream = stream
        self.maxlen = maxlen if maxlen is not None else settings.EVENTS_STREAM_MAXLEN

    def append(self, batch: LoggedBatch, *, token: str | None = None) -> str:
        if token is None:
            entry_id = self.client.xadd(self.stream, {"b": batch.to_json()},
                                        maxlen=self.maxlen, approximate=True)
            return str(entry_id)
        entry = self.client.eval(_APPEND_ONCE, 2, self.stream, APPENDED_PREFIX + token,
                                 self.maxlen, batch.to_json(), appended_marker_ttl())
        return str(entry)

    def ensure_group(self, group: str) -> None:
        """Create the group at the start of the stream if it does not exist (idempotent)."""
        try:
            self.client.xgroup_create(self.stream, group, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def read(self, *, group: str, consumer: str, count: int, block_ms: int | None = None
             ) -> list[LogEntry]:
        reply: Any = self._with_group(group, lambda: self.client.xreadgroup(
            group, consumer, {self.stream: ">"}, count=count, block=block_ms))
        entries: list[LogEntry] = []
        for _stream, items in reply or []:
            entries.extend(_decode(items))
        return entries

    def ack(self, *, group: str, entry_ids: Sequence[str]) -> int:
        if not entry_ids:
            return 0
        return int(self.client.xack(self.stream, group, *entry_ids))

    def reclaim(self, *, group: str, consumer: str, min_idle_ms: int, count: int
                ) -> list[LogEntry]:
        reply: Any = self._with_group(group, lambda: self.client.xautoclaim(
            self.stream, group, consumer, min_idle_time=min_idle_ms, start_id="0-0",
            count=count))
        # Redis 6.2 answers [next, entries]; 7.0 adds a third element (deleted ids).
        return _decode(reply[1])

    def _with_group(self, group: str, call: Callable[[], Any]) -> Any:
        """Run a group command; when the group is missing (a fresh Redis, a flushed or
        trimmed-away stream) create it at the start of the stream and retry once."""
        try:
            return call()
        except redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        self.ensure_group(group)
        return call()

    def delivery_count(self, *, group: str, entry_id: str) -> int:
        """How many times the entry was delivered in the group (0 if not pending)."""
        rows: Any = self.client.xpending_range(self.stream, group, min=entry_id, max=entry_id,
                                               count=1)
        return int(rows[0]["times_delivered"]) if rows else 0

    def dead_letter(self, *, group: str, entry: LogEntry, reason: str) -> None:
        """Park an entry that keeps failing in the dead-letter stream (capped at 10,000)
        and ack it, so that it stops blocking the group. Inspect with XRANGE."""
        body = entry.batch.to_json() if entry.batch is not None else ""
        self.client.xadd(DEAD_LETTER_KEY, {"entry_id": entry.entry_id, "group": group,
                                           "reason": reason[:500], "b": body},
                         maxlen=10_000, approximate=True)
        self.ack(group=group, entry_ids=[entry.entry_id])

    def prune_consumers(self, *, group: str, idle_ms: int) -> int:
        """Forget consumers (one per worker process ever started) that hold nothing and
        were idle this long; returns how many."""
        if not self.client.exists(self.stream):
            return 0
        try:
            consumers: Any = self.client.xinfo_consumers(self.stream, group)
        except redis.ResponseError:  # no such group
            return 0
        removed = 0
        for consumer in consumers:
            if consumer["pending"] == 0 and consumer["idle"] >= idle_ms:
                self.client.xgroup_delconsumer(self.stream, group, consumer["name"])
                removed += 1
        return removed

    def pending_count(self, *, group: str) -> int:
        self.ensure_group(group)
        info = self.client.xpending(self.stream, group)
        return int(info["pending"])

    def length(self) -> int:
        return int(self.client.xlen(self.stream))

    def entries_after(self, start: str, *, count: int) -> list[LogEntry]:
        """Up to `count` entries with ids above `start` (exclusive), oldest first, read
        outside any group (a backfill replaying what the log still holds)."""
        return _decode(self.client.xrange(self.stream, min=f"({start}", count=count))


def default_log() -> RedisStreamEventLog:
    """The log as the event API appends to it (hot-path timeouts)."""
    return RedisStreamEventLog(ingest_client())
