"""Post counters: journaled in PostgreSQL, flushed onto the post, shown at once from Redis.

Writers never touch the hot `content_post` row. A write that changes a counter inserts a
`CounterDelta` row (post, field, +1/-1) in its own transaction: the delta commits or rolls
back with the like (favourite, share, purge) it counts, so no outage of anything else can
lose it. Views have no row of their own; their delta is journaled right after the Redis
dedupe says the view is new.

The flusher (beat `engagement.flush_counters`, every few seconds) takes the oldest journal
rows (`DELETE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING`) and adds them
to the posts in the same transaction: each delta is applied exactly once, concurrent
flushers take disjoint rows, and a flusher that dies rolls back and leaves its rows.

Display: after the commit each delta is also put in a small Redis hash per post
(`engagement:{engagement}:pending:<post id>`, field = journal id), removed again after its
flush, so reads show the database value plus what is pending in one Redis round trip per
page (`shown_pending_deltas`). Redis is only a display aid here: an entry that never got
there shows at the next flush (seconds); a Redis restart forgets entries, never deltas;
while Redis is unavailable counters show the last flushed value. An entry whose removal
failed is ignored once older than SHOWN_MAX_AGE_MS (a delta older than that is flushed
unless the flusher is that far behind, when the count is briefly low, never lost).
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from functools import cache

import redis
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Sum
from django.db.models.functions import Greatest
from django.utils import timezone

from apps.content.models import Post
from apps.core import redis_health
from apps.core.ids import allocate_ids, id_created_at
from apps.engagement.models import CounterDelta
from apps.media import services as media_services

logger = logging.getLogger(__name__)

FIELDS = ("likes_count", "favourites_count", "shares_count", "views_count")
PENDING_PREFIX = "engagement:{engagement}:pending:"
PENDING_TTL_SECONDS = 600
SHOWN_MAX_AGE_MS = 5 * 60 * 1000
CHUNK_SIZE = 2000
# Flushers share this advisory lock; a reconcile takes it exclusively (one snapshot of rows
# and journal, while no flush moves deltas from the journal onto the posts).
FLUSH_LOCK = 7_246_001

Delta = tuple[int, int, str, int]  # journal id, post id, field, delta


@cache
def redis_client() -> redis.Redis:
    """The views' dedupe and the display entries: short timeouts, behind the breaker (a
    request never waits for a hung Redis)."""
    return redis_health.GuardedRedis.from_url(settings.REDIS_URL, decode_responses=True,
                                              max_connections=64,
                                              **redis_health.hot_path_options())


def _check(field: str) -> None:
    if field not in FIELDS:
        raise ValueError(field)


def record_deltas(deltas: dict[tuple[int, str], int]) -> None:
    """Journal {(post id, field): delta} in the current transaction (one INSERT) and, once
    it commits, show them (Redis, best effort)."""
    wanted = [(post_id, field, delta) for (post_id, field), delta in deltas.items() if delta]
    if not wanted:
        return
    for _, field, _ in wanted:
        _check(field)
    if len(wanted) == 1:  # the common case (a like): one INSERT ... RETURNING id
        post_id, field, delta = wanted[0]
        rows = [CounterDelta.objects.create(post_id=post_id, field=field, delta=delta)]
    else:
        ids = allocate_ids(len(wanted))
        rows = [CounterDelta(id=pk, post_id=post_id, field=field, delta=delta)
                for pk, (post_id, field, delta) in zip(ids, wanted, strict=True)]
        CounterDelta.objects.bulk_create(rows)
    entries = [(row.pk, row.post_id, row.field, row.delta) for row in rows]
    transaction.on_commit(lambda: _show(entries), robust=True)


def record_delta(*, post_id: int, field: str, delta: int) -> None:
    record_deltas({(post_id, field): delta})


def _show(entries: Sequence[Delta]) -> None:
    try:
        pipe = redis_client().pipeline(transaction=False)
        for journal_id, post_id, field, delta in entries:
            key = f"{PENDING_PREFIX}{post_id}"
            pipe.hset(key, str(journal_id), f"{field}:{delta}")
            pipe.expire(key, PENDING_TTL_SECONDS)
        pipe.execute()
    except redis.RedisError as exc:  # shown at the next flush instead
        logger.info("counter deltas not shown yet (%s)", exc)


def _unshow(entries: Sequence[Delta]) -> None:
    by_post: dict[int, list[str]] = defaultdict(list)
    for journal_id, post_id, _, _ in entries:
        by_post[post_id].append(str(journal_id))
    try:
        pipe = redis_client().pipeline(transaction=False)
        for post_id, journal_ids in by_post.items():
            pipe.hdel(f"{PENDING_PREFIX}{post_id}", *journal_ids)
        pipe.execute()
    except redis.RedisError as exc:  # ignored by readers once SHOWN_MAX_AGE_MS old
        logger.info("flushed counter deltas still shown (%s)", exc)


def shown_pending_deltas(post_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """{post id: {field: delta}} journaled but not flushed yet, for display: one pipelined
    Redis round trip whatever the number of posts; nothing while Redis is unavailable (the
    counters then show the last flushed value: a little stale, never an error)."""
    ids = list(dict.fromkeys(post_ids))
    if not ids:
        return {}
    try:
        pipe = redis_client().pipeline(transaction=False)
        for post_id in ids:
            pipe.hgetall(f"{PENDING_PREFIX}{post_id}")
        replies = pipe.execute()
    except redis.RedisError:
        return {}
    oldest = timezone.now().timestamp() * 1000 - SHOWN_MAX_AGE_MS
    out: dict[int, dict[str, int]] = {}
    for post_id, entries in zip(ids, replies, strict=True):
        bucket: dict[str, int] = {}
        for journal_id, value in (entries or {}).items():
            field, _, delta = value.partition(":")
            if field not in FIELDS or not journal_id.isdigit():
                continue
            if id_created_at(int(journal_id)).timestamp() * 1000 < oldest:
                continue
            bucket[field] = bucket.get(field, 0) + int(delta)
        if bucket:
            out[post_id] = bucket
    return out


def pending_deltas(post_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    """The journal's exact pending deltas (PostgreSQL), per post and field."""
    ids = list(dict.fromkeys(post_ids))
    out: dict[int, dict[str, int]] = defaultdict(dict)
    rows = (CounterDelta.objects.filter(post_id__in=ids).values("post_id", "field")
            .order_by().annotate(total=Sum("delta")).values_list("post_id", "field", "total"))
    for post_id, field, total in rows:
        if total:
            out[post_id][field] = int(total)
    return dict(out)


def _take_chunk(limit: int) -> list[Delta]:
    table = connection.ops.quote_name(CounterDelta._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock_shared(%s)", [FLUSH_LOCK])
        # The chunk is chosen once, in a CTE (a locking CTE is evaluated once), so at most
        # `limit` rows go: an `IN (SELECT ... LIMIT)` subquery may be re-run by the plan.
        cursor.execute(
            f"WITH chunk AS (SELECT id FROM {table} ORDER BY id LIMIT %s "  # noqa: S608
            f"FOR UPDATE SKIP LOCKED) DELETE FROM {table} AS d USING chunk "
            "WHERE d.id = chunk.id RETURNING d.id, d.post_id, d.field, d.delta", [limit])
        return [(int(a), int(b), str(c), int(d)) for a, b, c, d in cursor.fetchall()]


def _av1_for_crossed(totals: dict[int, dict[str, int]]) -> None:
    """Posts whose views just passed media's AV1 threshold (before this flush below it,
    now at or above): their videos get AV1 renditions, on media's bulk queue. One query
    for the chunk's viewed posts; media sends each asset's step once whatever happens."""
    views = {post_id: fields["views_count"] for post_id, fields in totals.items()
             if fields.get("views_count", 0) > 0}
    threshold = media_services.av1_view_threshold() if views else 0
    if not threshold:
        return
    rows = Post.objects.filter(pk__in=list(views), views_count__gte=threshold,
                               asset_id__isnull=False).values_list("id", "views_count",
                                                                   "asset_id")
    crossed = [asset_id for post_id, count, asset_id in rows
               if count - views[post_id] < threshold]
    if crossed:
        transaction.on_commit(lambda: media_services.assets_av1_views_passed(crossed),
                              robust=True)


def flush(*, chunk_size: int = CHUNK_SIZE, max_chunks: int = 50) -> int:
    """Move the journaled deltas onto their posts (at most `max_chunks` transactions, so a
    run under a write storm ends; the next run goes on). Returns how many post updates
    were made. Safe to run concurrently and to re-run after a crash."""
    updated = 0
    for _ in range(max_chunks):
        with transaction.atomic():
            taken = _take_chunk(chunk_size)
            totals: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
            for _, post_id, field, delta in taken:
                totals[post_id][field] += delta
            for post_id in sorted(totals):  # by post id: no deadlocks between flushers
                changes = {field: Greatest(F(field) + delta, 0)
                           for field, delta in totals[post_id].items() if delta}
                if changes:
                    Post.objects.filter(pk=post_id).update(**changes)
                    updated += 1
            _av1_for_crossed(totals)
        if taken:
            _unshow(taken)
        if len(taken) < chunk_size:
            break
    return updated
