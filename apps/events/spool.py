"""The spool: accepted event batches that could not reach the event log (the Redis stream
was unavailable) wait in PostgreSQL (`SpooledBatch`) and are drained into the stream once
it is back (`spool_drain`, beat `events.drain_spool`), exactly once.

Exactly once, precisely: each spooled row is appended by one Lua script, which Redis runs
atomically. The script first checks the done-marker of the row's request token
(`events:{log}:appended:<token>`), which the same script sets with its XADD, and so does
the request's own live append (`RedisStreamEventLog.append(token=...)`: a hung Redis may
run an append after the request gave up on it and spooled the batch). If the marker is
there, the batch is in the log and nothing happens. Otherwise the script sets the events'
dedupe markers (an event that reached the log meanwhile, from a client's retry, is a
duplicate and left out; a marker holding this row's token is the row's own), appends the
remaining events as one entry (fields `b`, the batch, and `spool`, the row id) and sets the
done-marker. The row is deleted in the PostgreSQL transaction that locked it (`FOR UPDATE
SKIP LOCKED`, so concurrent drains take disjoint rows), after the script returned. A drain
that dies between the script and its commit leaves the row; the next drain finds the
done-marker and only deletes it.

So every spooled event enters the stream once, provided Redis keeps what it acknowledged:
the entry and its marker are written by one script, so a Redis that loses writes (a
restart without persistence) loses both, and the row, still there, is appended again; a
Redis that loses the entry after the row's deletion lost it like any other entry. Markers
live `appended_marker_ttl()` (the dedupe window, at least an hour): a row drained later
than that after a hung append could be appended twice. Consumers need no dedupe of their
own (analytics records each entry it applied by entry id); the `spool` field lets one check.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import redis
from django.conf import settings
from django.db import transaction
from redis.commands.core import Script

from apps.events.log import APPENDED_PREFIX, STREAM_KEY, appended_marker_ttl, redis_client
from apps.events.models import SpooledBatch

logger = logging.getLogger(__name__)

BATCH_SIZE = 50

_APPEND_ONCE = """
if redis.call('EXISTS', KEYS[2]) == 1 then return {-1, ''} end
local parts = {}
for i = 3, #KEYS do
  local mine = redis.call('SET', KEYS[i], ARGV[4], 'NX', 'EX', ARGV[1])
  if not mine then mine = (redis.call('GET', KEYS[i]) == ARGV[4]) end
  if mine then parts[#parts + 1] = ARGV[i + 5] end
end
local entry = ''
if #parts > 0 then
  entry = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[3], '*',
                     'b', ARGV[6] .. table.concat(parts, ',') .. ARGV[7], 'spool', ARGV[5])
end
redis.call('SET', KEYS[2], entry, 'EX', ARGV[2])
return {#parts, entry}
"""


@cache
def _append_once_script(client: redis.Redis) -> Script:
    return client.register_script(_APPEND_ONCE)


def spool_is_full() -> bool:
    """Whether the spool holds EVENTS_SPOOL_MAX_BATCHES rows (then the API refuses with 503:
    a long outage must not fill PostgreSQL's disk with telemetry)."""
    cap = settings.EVENTS_SPOOL_MAX_BATCHES
    return SpooledBatch.objects.order_by("id")[cap - 1:cap].exists()


def spool_backlog(cutoff: datetime) -> tuple[str, int]:
    """For /readyz (apps.core.health.backlog_checks): batches spooled before `cutoff` and
    not drained yet (the drain runs every few seconds while the log is up)."""
    return "event_spool", SpooledBatch.objects.filter(created_at__lt=cutoff).count()


def spool_batch(*, user_id: int | None, received_ms: int, client: dict[str, str],
                events: list[dict[str, Any]], dedupe_keys: list[str], token: str
                ) -> SpooledBatch:
    return SpooledBatch.objects.create(user_id=user_id, received_ms=received_ms,
                                       client=client, events=events,
                                       dedupe_keys=dedupe_keys, token=token)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class DrainResult:
    batches: int = 0  # spool rows drained (appended now, or found appended before)
    appended: int = 0  # events appended to the stream now
    duplicates: int = 0  # events already in the log (a client retried them meanwhile)


def _append_once(client: redis.Redis, row: SpooledBatch) -> tuple[int, int]:
    """Append the row's events that are not duplicates; (appended, duplicates), or (0, 0)
    when the row was appended before."""
    # The entry is LoggedBatch.to_json() of the events kept: its head, the kept events
    # joined by commas, its tail.
    head = _compact({"u": row.user_id, "rt": row.received_ms, "c": row.client})
    prefix, suffix = head[:-1] + ',"e":[', "]}"
    keys = [STREAM_KEY, f"{APPENDED_PREFIX}{row.token}", *row.dedupe_keys]
    args: list[Any] = [
        max(settings.EVENTS_DEDUPE_TTL, 1), appended_marker_ttl(), settings.EVENTS_STREAM_MAXLEN,
        row.token, str(row.pk), prefix, suffix, *(_compact(e) for e in row.events)]
    kept, _entry = _append_once_script(client)(keys=keys, args=args)
    if int(kept) < 0:
        return 0, 0
    return int(kept), len(row.events) - int(kept)


def spool_drain(*, batch_size: int = BATCH_SIZE) -> DrainResult:
    """Append every spooled batch to the event log, oldest first; stops at the first Redis
    failure (the rest waits for the next run). Safe to run concurrently and after a crash."""
    result = DrainResult()
    client = redis_client()
    while True:
        failed: redis.RedisError | None = None
        with transaction.atomic():
            rows = list(SpooledBatch.objects.select_for_update(skip_locked=True)
                        .order_by("id")[:batch_size])
            done: list[int] = []
            for row in rows:
                try:
                    appended, duplicates = _append_once(client, row)
                except redis.RedisError as exc:
                    failed = exc
                    break
                done.append(row.pk)
                result.appended += appended
                result.duplicates += duplicates
            if done:
                SpooledBatch.objects.filter(pk__in=done).delete()
        result.batches += len(done)
        if failed is not None:
            logger.warning("event spool drain paused, the event log is unavailable (%s)",
                           failed)
            return result
        if len(rows) < batch_size:
            return result
