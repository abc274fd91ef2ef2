"""Post counters buffered in Redis and flushed to Postgres.

Writers never touch the hot `content_post` row: after their transaction commits they add
their delta to one Redis hash (`HINCRBY dirty "<post_id>:<field>" delta`). The flusher (a
beat task) claims the whole hash atomically (a Lua script: RENAME it to a batch key and
remember the batch in a set), so new deltas start a fresh hash and nothing is lost. Each
batch is applied in chunks of posts, each chunk in one transaction that also inserts a
`CounterFlush` marker row keyed by (batch, chunk): a chunk is applied at most once even if
a flusher dies after committing, or two flushers race on the same batch. Only then is the
batch deleted from Redis. A flusher that died leaves its batch in the set; the next run
finishes it.

Reads show the database value plus what is still pending in Redis (`shown_pending_deltas`:
just the database value while Redis is unavailable).
Keys carry a `{engagement}` hash tag so that the script's keys share a Redis Cluster slot.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Iterable
from functools import cache

import redis
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest

from apps.content.models import Post
from apps.core import redis_health
from apps.engagement.models import CounterFlush

logger = logging.getLogger(__name__)

FIELDS = ("likes_count", "favourites_count", "shares_count", "views_count")
DIRTY_KEY = "engagement:{engagement}:dirty"
BATCHES_KEY = "engagement:{engagement}:batches"
BATCH_PREFIX = "engagement:{engagement}:batch:"
CHUNK_SIZE = 500

_CLAIM = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('SADD', KEYS[3], ARGV[1])
  return 1
end
return 0
"""


@cache
def redis_client() -> redis.Redis:
    """One connection pool per process, on the project's Redis. A blocking pool: under a
    burst, threads wait (up to 5 s) for a free connection instead of failing (a failure
    here would lose a counter delta until the next reconcile). Behind the breaker: while
    Redis is known to be unavailable a call fails at once rather than after 5 s."""
    pool = redis.BlockingConnectionPool.from_url(
        settings.REDIS_URL, decode_responses=True, max_connections=64, timeout=5,
        socket_timeout=5, socket_connect_timeout=5,
    )
    return redis_health.GuardedRedis(connection_pool=pool)


@cache
def _display_client() -> redis.Redis:
    """For counters shown on a request: short timeouts, behind the breaker."""
    return redis_health.GuardedRedis.from_url(settings.REDIS_URL, decode_responses=True,
                                              max_connections=64,
                                              **redis_health.hot_path_options())


def shown_pending_deltas(post_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """`pending_deltas` for display: while Redis is unavailable, nothing, so counters show
    the last value flushed to Postgres (a little stale, never an error). Reconciling must
    use `pending_deltas`, which raises rather than guess."""
    try:
        return pending_deltas(post_ids, client=_display_client())
    except redis_health.OUTAGE_ERRORS:
        return {}


def _field_key(post_id: int, field: str) -> str:
    return f"{post_id}:{field}"


def add_delta_now(*, post_id: int, field: str, delta: int) -> None:
    """Record a delta immediately (for writes that have no database row, i.e. views)."""
    if field not in FIELDS:
        raise ValueError(field)
    redis_client().hincrby(DIRTY_KEY, _field_key(post_id, field), delta)


def add_delta_on_commit(*, post_id: int, field: str, delta: int) -> None:
    """Record a delta once the current transaction commits (never for a rolled-back row).
    If Redis is unreachable at that moment the delta is lost and logged: the row is the
    truth and `engagement_reconcile` restores the counter."""
    if field not in FIELDS:
        raise ValueError(field)

    def apply() -> None:
        add_delta_now(post_id=post_id, field=field, delta=delta)

    transaction.on_commit(apply, robust=True)


def _parse(raw: dict[str, str]) -> dict[int, dict[str, int]]:
    out: dict[int, dict[str, int]] = defaultdict(dict)
    for key, value in raw.items():
        post_id, _, field = key.partition(":")
        if field in FIELDS and post_id.isdigit():
            out[int(post_id)][field] = out[int(post_id)].get(field, 0) + int(value)
    return out


def pending_deltas(post_ids: Iterable[int], *, client: redis.Redis | None = None
                   ) -> dict[int, dict[str, int]]:
    """Deltas not yet in Postgres, per post and field. One pipelined Redis round trip
    whatever the number of posts (the dirty hash and the set of batches being flushed);
    a second one only while a flush is in progress, for its batches. While a batch is being
    applied its deltas can show twice for a moment; counters shown to clients are display
    values, the rows are the truth."""
    ids = list(dict.fromkeys(post_ids))
    if not ids:
        return {}
    client = client or redis_client()
    fields = [_field_key(pid, f) for pid in ids for f in FIELDS]
    pipe = client.pipeline(transaction=False)
    pipe.hmget(DIRTY_KEY, fields)
    pipe.smembers(BATCHES_KEY)
    dirty, batches = pipe.execute()
    rows = [dirty]
    if batches:
        pipe = client.pipeline(transaction=False)
        for batch in sorted(str(b) for b in batches):
            pipe.hmget(f"{BATCH_PREFIX}{batch}", fields)
        rows += pipe.execute()
    totals: dict[int, dict[str, int]] = defaultdict(dict)
    for values in rows:
        for name, value in zip(fields, values, strict=True):
            if value is None:
                continue
            post_id, _, field = name.partition(":")
            bucket = totals[int(post_id)]
            bucket[field] = bucket.get(field, 0) + int(value)
    return totals


def _apply_chunk(marker: str, chunk: list[tuple[int, dict[str, int]]]) -> bool:
    try:
        with transaction.atomic():
            CounterFlush.objects.create(batch=marker)
            for post_id, deltas in chunk:  # ordered by post id: no deadlocks between flushers
                updates = {field: Greatest(F(field) + delta, 0)
                           for field, delta in deltas.items() if delta}
                if updates:
                    Post.objects.filter(pk=post_id).update(**updates)
    except IntegrityError:
        return False  # this chunk was applied already (by us earlier, or by a racing flusher)
    return True


def _apply_batch(batch_id: str, *, chunk_size: int) -> int:
    client = redis_client()
    key = BATCH_PREFIX + batch_id
    deltas = _parse(client.hgetall(key))  # type: ignore[arg-type]
    ordered = sorted(deltas.items())
    applied = 0
    for index in range(0, len(ordered), chunk_size):
        chunk = ordered[index:index + chunk_size]
        if _apply_chunk(f"{batch_id}:{index // chunk_size}", chunk):
            applied += len(chunk)
    client.delete(key)
    client.srem(BATCHES_KEY, batch_id)
    return applied


def flush(*, chunk_size: int = CHUNK_SIZE) -> int:
    """Move every pending delta into Postgres. Returns how many posts were updated.
    Safe to run concurrently and to re-run after a crash."""
    client = redis_client()
    batch_id = uuid.uuid4().hex
    client.eval(_CLAIM, 3, DIRTY_KEY, BATCH_PREFIX + batch_id, BATCHES_KEY, batch_id)
    updated = 0
    for pending in sorted(client.smembers(BATCHES_KEY)):  # type: ignore[arg-type]
        updated += _apply_batch(str(pending), chunk_size=chunk_size)  # decode_responses
    return updated


def prune_flush_markers(*, older_than_hours: int = 24) -> int:
    """Markers only matter while their batch may still be in Redis (minutes)."""
    from datetime import timedelta

    from django.utils import timezone

    cutoff = timezone.now() - timedelta(hours=older_than_hours)
    deleted, _ = CounterFlush.objects.filter(applied_at__lt=cutoff).delete()
    return deleted


def add_deltas_on_commit(deltas: dict[tuple[int, str], int]) -> None:
    """Many deltas at once (one pipelined round trip after commit)."""
    wanted = {key: delta for key, delta in deltas.items() if delta}
    if not wanted:
        return
    for _, field in wanted:
        if field not in FIELDS:
            raise ValueError(field)

    def apply() -> None:
        pipe = redis_client().pipeline(transaction=False)
        for (post_id, field), delta in wanted.items():
            pipe.hincrby(DIRTY_KEY, _field_key(post_id, field), delta)
        pipe.execute()

    transaction.on_commit(apply, robust=True)
