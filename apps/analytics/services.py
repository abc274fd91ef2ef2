"""The event-log consumer: aggregates log entries into Postgres and the online features.

Exactly once, and why this way: each log entry (one accepted HTTP batch) is applied in one
transaction that first inserts `(stream, entry id)` into `AppliedEntry` with ON CONFLICT
DO NOTHING RETURNING, and then adds only the returned (new) entries' events to the
aggregates with additive upserts. The entry is acked in the log only after that commit.
So:

- a consumer that dies before committing leaves its entries pending; after
  `ANALYTICS_RECLAIM_IDLE_MS` another run takes them over (XAUTOCLAIM) and applies them;
- a consumer that dies after committing but before acking has its entries reclaimed too,
  but the insert returns nothing for them: they are acked and not counted again;
- two consumers racing on the same entry serialise on the unique key: one applies it, the
  other's insert returns nothing once the first commits;
- an entry that raises while being applied (a bug, a database error) is retried alone so
  that the rest of its chunk goes through; it stays pending, is reclaimed by later runs,
  and after `MAX_DELIVERIES` deliveries it is parked in the dead-letter stream and acked,
  so that one poison entry cannot stall the consumer.

Keying on the log entry rather than on each client event id keeps this one row per batch
(the client-id dedupe already happened at ingest). Applied-entry rows are pruned after
`APPLIED_ENTRY_RETENTION`; an entry pending for longer than that could apply twice, which
reclaiming after a minute makes moot in practice.

Online features (Redis) are written after the commit, only for newly applied entries; if
Redis fails then, those features miss the batch (they are approximate and expire anyway).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Literal, Protocol

import redis
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.analytics import online
from apps.analytics.models import AppliedEntry, CreatorDailyStats, UserPostStats
from apps.content.models import Post, PostHashtag
from apps.events import schema as ev
from apps.events.log import DEFAULT_GROUP, LogEntry, RedisStreamEventLog, consumer_name

logger = logging.getLogger(__name__)

APPLIED_ENTRY_RETENTION = timedelta(days=7)
READ_CHUNK = 100
RETENTION_STEPS = 20  # retention curve points at 0 %, 5 %, ..., 100 %
DEADLOCK_RETRIES = 3
# An entry that failed to apply this many deliveries goes to the dead-letter stream.
MAX_DELIVERIES = 5

Mode = Literal["add", "max", "or", "array_add"]


# --- accumulation in memory --------------------------------------------------------------


def _bucket_ms(ts: int, received_ms: int) -> int:
    """An event's time for bucketing: its own timestamp, but never later than receipt
    (a fast client clock must not put events into future hours)."""
    return min(ts, received_ms)


def _hour(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 3_600_000 * 3600, tz=UTC)


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


def _fraction(data: dict[str, Any]) -> float:
    return min(1.0, float(data["watched_ms"]) / float(data["duration_ms"]))


@dataclass
class Aggregates:
    """Deltas of one consumer chunk, keyed like the tables' unique constraints."""

    user_post: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    post_hour: dict[tuple[int, datetime], dict[str, Any]] = field(default_factory=dict)
    creator_day: dict[tuple[int, date], dict[str, Any]] = field(default_factory=dict)
    retention: dict[int, list[int]] = field(default_factory=dict)
    features: online.FeatureUpdate = field(default_factory=online.FeatureUpdate)
    events: int = 0

    def up(self, user_id: int, post_id: int, at: datetime) -> dict[str, Any]:
        row = self.user_post.setdefault((user_id, post_id), {"last_event_at": at})
        row["last_event_at"] = max(row["last_event_at"], at)
        return row

    def ph(self, post_id: int, ms: int) -> dict[str, Any]:
        return self.post_hour.setdefault((post_id, _hour(ms)), {})

    def cd(self, creator_id: int, ms: int) -> dict[str, Any]:
        return self.creator_day.setdefault((creator_id, _day(ms)), {})


def _inc(row: dict[str, Any], name: str, by: float = 1) -> None:
    row[name] = row.get(name, 0) + by


@dataclass(frozen=True)
class PostFacts:
    author_id: int
    sound_id: int | None


def _post_facts(post_ids: Iterable[int]) -> dict[int, PostFacts]:
    ids = list(set(post_ids))
    if not ids:
        return {}
    return {pid: PostFacts(author, sound) for pid, author, sound in
            Post.objects.filter(pk__in=ids).values_list("id", "author_id", "sound_id")}


def accumulate(batches: Sequence[dict[str, Any]]) -> Aggregates:
    """Fold decoded log batches ({"u", "rt", "e"}) into deltas. Events about posts that do
    not exist (deleted, or a bogus id) count nowhere; follows count for existing creators
    only."""
    post_ids: set[int] = set()
    ni_posts: set[int] = set()
    creators: set[int] = set()
    for batch in batches:
        for e in batch["e"]:
            if e["post_id"] is not None:
                post_ids.add(e["post_id"])
                if e["type"] == ev.NOT_INTERESTED:
                    ni_posts.add(e["post_id"])
            if e["type"] == ev.FOLLOW:
                creators.add(e["data"]["creator_id"])
    facts = _post_facts(post_ids)
    hashtags: dict[int, list[int]] = {}
    for pid, tag in PostHashtag.objects.filter(post_id__in=ni_posts & facts.keys()) \
            .values_list("post_id", "hashtag_id"):
        hashtags.setdefault(pid, []).append(tag)
    viewers = {b["u"] for b in batches if b["u"] is not None}
    people = creators | viewers
    known_people = set(User.objects.filter(pk__in=people).values_list("id", flat=True)) \
        if people else set()
    known_creators = creators & known_people

    agg = Aggregates()
    for batch in batches:
        # A user removed since the batch was sent keeps no per-user row (their purge ran).
        user_id: int | None = batch["u"] if batch["u"] in known_people else None
        received: int = batch["rt"]
        for e in batch["e"]:
            agg.events += 1
            _apply_event(agg, e, user_id=user_id, received_ms=received, facts=facts,
                         hashtags=hashtags, known_creators=known_creators)
    return agg


def _apply_event(agg: Aggregates, e: dict[str, Any], *, user_id: int | None, received_ms: int,
                 facts: dict[int, PostFacts], hashtags: dict[int, list[int]],
                 known_creators: set[int]) -> None:
    kind: str = e["type"]
    data: dict[str, Any] = e["data"]
    ms = _bucket_ms(e["ts"], received_ms)
    at = datetime.fromtimestamp(ms / 1000, tz=UTC)
    owner = online.owner_key(user_id=user_id, session_id=e["session_id"])

    if kind == ev.FOLLOW and data["creator_id"] in known_creators:
        _inc(agg.cd(data["creator_id"], ms), "followers_gained")
    post_id: int | None = e["post_id"]
    post = facts.get(post_id) if post_id is not None else None
    if post is None or post_id is None:
        return
    ph = agg.ph(post_id, ms)
    cd = agg.cd(post.author_id, ms)
    up = agg.up(user_id, post_id, at) if user_id is not None else {}

    if kind in (ev.IMPRESSION, ev.PLAY_START, ev.WATCH_PROGRESS, ev.WATCH_END, ev.SKIP,
                ev.COMPLETION) and owner is not None:
        agg.features.add_seen(owner, post_id, ms)

    if kind == ev.IMPRESSION:
        _inc(ph, "impressions"); _inc(cd, "impressions"); _inc(up, "impressions")  # noqa: E702
        agg.features.add_velocity("imp", post_id, received_ms)
    elif kind == ev.PLAY_START:
        _inc(ph, "plays"); _inc(cd, "views"); _inc(up, "plays")  # noqa: E702
        agg.features.add_velocity("play", post_id, received_ms)
    elif kind == ev.WATCH_PROGRESS:
        up["max_completion"] = max(up.get("max_completion", 0.0), _fraction(data))
    elif kind in (ev.WATCH_END, ev.SKIP):
        fraction = _fraction(data)
        watched = data["watched_ms"]
        for row in (ph, cd, up):
            _inc(row, "watch_ms", watched)
        for row in (ph, cd):
            _inc(row, "watch_fraction_sum", fraction)
            _inc(row, "watch_fraction_count")
        up["max_completion"] = max(up.get("max_completion", 0.0), fraction)
        curve = agg.retention.setdefault(post_id, [0] * (RETENTION_STEPS + 1))
        for step in range(int(fraction * RETENTION_STEPS + 1e-9) + 1):
            curve[step] += 1
        if kind == ev.SKIP:
            _inc(ph, "skips")
            up["skipped"] = True
        else:
            _inc(up, "loops", data.get("loops", 0))
    elif kind == ev.COMPLETION:
        _inc(ph, "completions"); _inc(cd, "completions")  # noqa: E702
        up["completed"] = True
        agg.features.add_velocity("comp", post_id, received_ms)
    elif kind == ev.REWATCH:
        _inc(ph, "rewatches"); _inc(up, "rewatches")  # noqa: E702
    elif kind == ev.LIKE:
        _inc(ph, "likes"); _inc(cd, "likes")  # noqa: E702
        up["liked"] = True
        agg.features.add_velocity("like", post_id, received_ms)
    elif kind == ev.COMMENT:
        _inc(ph, "comments"); _inc(cd, "comments")  # noqa: E702
    elif kind == ev.SHARE:
        _inc(ph, "shares"); _inc(cd, "shares")  # noqa: E702
        up["shared"] = True
        agg.features.add_velocity("share", post_id, received_ms)
    elif kind == ev.FAVOURITE:
        _inc(ph, "favourites")
    elif kind == ev.FOLLOW:
        _inc(ph, "follows")
    elif kind == ev.NOT_INTERESTED:
        _inc(ph, "not_interested")
        up["not_interested"] = True
        if owner is not None:
            agg.features.add_not_interested(owner, "creator", [post.author_id], ms)
            if post.sound_id is not None:
                agg.features.add_not_interested(owner, "sound", [post.sound_id], ms)
            agg.features.add_not_interested(owner, "hashtag", hashtags.get(post_id, []), ms)
    elif kind == ev.REPORT:
        _inc(ph, "reports")
    elif kind == ev.QOE:
        _inc(ph, "qoe_reports")
        if "ttff_ms" in data:
            _inc(ph, "ttff_ms_sum", data["ttff_ms"])
            _inc(ph, "ttff_count")
        _inc(ph, "rebuffer_count", data.get("rebuffer_count", 0))
        _inc(ph, "rebuffer_ms", data.get("rebuffer_ms", 0))
        if data.get("error"):
            _inc(ph, "playback_errors")


# --- upserts -----------------------------------------------------------------------------

USER_POST_COLUMNS: dict[str, Mode] = {
    "impressions": "add", "plays": "add", "watch_ms": "add", "max_completion": "max",
    "loops": "add", "rewatches": "add", "completed": "or", "skipped": "or", "liked": "or",
    "shared": "or", "not_interested": "or", "last_event_at": "max",
}
POST_HOUR_COLUMNS: dict[str, Mode] = dict.fromkeys((
    "impressions", "plays", "watch_ms", "watch_fraction_sum", "watch_fraction_count",
    "completions", "rewatches", "skips", "likes", "comments", "shares", "favourites",
    "follows", "not_interested", "reports", "qoe_reports", "ttff_ms_sum", "ttff_count",
    "rebuffer_count", "rebuffer_ms", "playback_errors"), "add")
CREATOR_DAY_COLUMNS: dict[str, Mode] = dict.fromkeys((
    "impressions", "views", "watch_ms", "watch_fraction_sum", "watch_fraction_count",
    "completions", "likes", "comments", "shares", "followers_gained"), "add")
_DEFAULTS: dict[Mode, Any] = {"add": 0, "max": 0.0, "or": False}
_ROWS_PER_STATEMENT = 500


def _set_clause(column: str, mode: Mode) -> str:
    if mode == "add":
        return f"{column} = t.{column} + EXCLUDED.{column}"
    if mode == "max":
        return f"{column} = GREATEST(t.{column}, EXCLUDED.{column})"
    if mode == "or":
        return f"{column} = t.{column} OR EXCLUDED.{column}"
    return (f"{column} = ARRAY(SELECT x.a + x.b FROM "  # noqa: S608 - our column names
            f"unnest(t.{column}, EXCLUDED.{column}) WITH ORDINALITY AS x(a, b, n) ORDER BY x.n)")


def _upsert(table: str, keys: Sequence[str], columns: dict[str, Mode],
            rows: dict[Any, dict[str, Any]]) -> None:
    """INSERT ... ON CONFLICT (keys) DO UPDATE, combining each column by its mode. Rows go
    in key order so that concurrent consumers lock rows in the same order (no deadlock
    between two chunks touching the same posts)."""
    if not rows:
        return
    names = [*keys, *columns]
    placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
    conflict = ", ".join(keys)
    sets = ", ".join(_set_clause(c, m) for c, m in columns.items())
    ordered = sorted(rows.items())
    with connection.cursor() as cursor:
        for start in range(0, len(ordered), _ROWS_PER_STATEMENT):
            chunk = ordered[start:start + _ROWS_PER_STATEMENT]
            params: list[Any] = []
            for key, values in chunk:
                params.extend(key if isinstance(key, tuple) else (key,))
                params.extend(values.get(c, _DEFAULTS.get(m)) for c, m in columns.items())
            # Table and column names are this module's constants; values are parameters.
            sql = (f"INSERT INTO {table} AS t ({', '.join(names)}) VALUES "  # noqa: S608
                   f"{', '.join([placeholder] * len(chunk))} "
                   f"ON CONFLICT ({conflict}) DO UPDATE SET {sets}")
            cursor.execute(sql, params)


def _write_aggregates(agg: Aggregates) -> None:
    _upsert("analytics_userpoststats", ("user_id", "post_id"), USER_POST_COLUMNS,
            agg.user_post)
    _upsert("analytics_posthourlystats", ("post_id", "hour"), POST_HOUR_COLUMNS,
            agg.post_hour)
    _upsert("analytics_creatordailystats", ("creator_id", "day"), CREATOR_DAY_COLUMNS,
            agg.creator_day)
    _upsert("analytics_postretention", ("post_id",), {"reached": "array_add"},
            {pid: {"reached": curve} for pid, curve in agg.retention.items()})


def _claim_entries(stream: str, entry_ids: Sequence[str],
                   table: str = "analytics_appliedentry") -> set[str]:
    """Insert applied-entry markers; returns the ids that were not applied before. `table`
    is another consumer group's own record of the same shape (search's)."""
    if not entry_ids:
        return set()
    now = timezone.now()
    with connection.cursor() as cursor:
        values = ", ".join(["(%s, %s, %s)"] * len(entry_ids))
        cursor.execute(
            f"INSERT INTO {table} (stream, entry_id, applied_at) "  # noqa: S608
            f"VALUES {values} ON CONFLICT (stream, entry_id) DO NOTHING RETURNING entry_id",
            [v for eid in sorted(entry_ids) for v in (stream, eid, now)])
        return {row[0] for row in cursor.fetchall()}


# Shared with the other consumer group of the log (apps.search.services.trending), which
# keeps its own tables: the exactly-once record and the additive upsert.
claim_entries = _claim_entries
additive_upsert = _upsert


# --- the consumer ------------------------------------------------------------------------


class EntriesApplier(Protocol):
    def __call__(self, *, stream: str, entries: Sequence[LogEntry]) -> tuple[int, int, int]:
        """Apply entries exactly once; (applied entries, their events, undecodable)."""
        ...


@dataclass
class ConsumeReport:
    entries: int = 0  # entries handled (applied now, or found applied before)
    applied: int = 0  # entries whose events were added now
    events: int = 0  # events in the applied entries
    reclaimed: int = 0  # entries taken over from a dead or stuck consumer
    skipped: int = 0  # entries that could not be decoded (acked, ignored)
    failed: int = 0  # entries whose application raised (left pending, or dead-lettered)
    dead_lettered: int = 0  # entries that failed MAX_DELIVERIES times, parked and acked


def entries_apply(*, stream: str, entries: Sequence[LogEntry]) -> tuple[int, int, int]:
    """Apply log entries to the aggregates exactly once (see the module docstring); returns
    (applied entries, their events, undecodable entries). Does not ack."""
    good = [e for e in entries if e.batch is not None]
    for attempt in range(DEADLOCK_RETRIES):
        try:
            with transaction.atomic():
                fresh = _claim_entries(stream, [e.entry_id for e in good])
                batches = [{"u": e.batch.user_id, "rt": e.batch.received_ms,
                            "e": e.batch.events}
                           for e in good if e.entry_id in fresh and e.batch is not None]
                agg = accumulate(batches)
                _write_aggregates(agg)
            break
        except OperationalError as exc:  # deadlock or serialisation failure: try again
            if attempt == DEADLOCK_RETRIES - 1:
                raise
            logger.warning("analytics apply retry after %s", exc)
            time.sleep(0.05 * (attempt + 1))
    try:
        agg.features.write(online.write_client())
    except redis.RedisError as exc:
        logger.warning("analytics online features not written: %s", exc)
    return len(fresh), agg.events, len(entries) - len(good)


def events_consume(*, log: RedisStreamEventLog | None = None, group: str = DEFAULT_GROUP,
                   consumer: str | None = None, max_entries: int | None = None,
                   reclaim_idle_ms: int | None = None, chunk: int = READ_CHUNK,
                   apply_entries: EntriesApplier | None = None) -> ConsumeReport:
    """One consumer run: first take over entries left pending by a dead consumer, then read
    new entries, chunk by chunk, until the log is drained or `max_entries` were handled.
    Each chunk is applied in one transaction, then acked. Another consumer group (search's
    trending) passes its own group and `apply_entries` and reuses the loop."""
    applier = apply_entries or entries_apply
    log = log or RedisStreamEventLog()
    consumer = consumer or consumer_name()
    budget = max_entries if max_entries is not None else settings.ANALYTICS_CONSUME_MAX_ENTRIES
    idle = reclaim_idle_ms if reclaim_idle_ms is not None \
        else settings.ANALYTICS_RECLAIM_IDLE_MS
    report = ConsumeReport()

    def apply(entries: list[LogEntry]) -> None:
        applied, events, skipped = applier(stream=log.stream, entries=entries)
        log.ack(group=group, entry_ids=[e.entry_id for e in entries])
        report.entries += len(entries)
        report.applied += applied
        report.events += events
        report.skipped += skipped

    def handle(entries: list[LogEntry]) -> None:
        try:
            apply(entries)
            return
        except Exception:
            logger.exception("analytics chunk failed; applying its entries one by one")
        for entry in entries:
            try:
                apply([entry])
            except Exception as exc:  # noqa: BLE001
                report.failed += 1
                delivered = log.delivery_count(group=group, entry_id=entry.entry_id)
                if delivered >= MAX_DELIVERIES:
                    logger.error("analytics entry %s failed %d times; dead-lettered: %r",
                                 entry.entry_id, delivered, exc)
                    log.dead_letter(group=group, entry=entry, reason=repr(exc))
                    report.dead_lettered += 1
                # else: left pending; a later run reclaims it after the idle time

    def room() -> int:
        return budget - report.entries - report.failed

    while room() > 0:
        entries = log.reclaim(group=group, consumer=consumer, min_idle_ms=idle,
                              count=min(chunk, room()))
        if not entries:
            break
        report.reclaimed += len(entries)
        failed = report.failed
        handle(entries)
        if report.failed > failed:
            # what failed is pending again; with a short idle time it would come straight
            # back, so reclaiming stops for this run (new entries still go through)
            break
    while room() > 0:
        entries = log.read(group=group, consumer=consumer, count=min(chunk, room()))
        if not entries:
            break
        handle(entries)
    return report


def consumers_prune(*, idle: timedelta = timedelta(days=1)) -> int:
    """Each worker process joins the group under its own name; forget the ones that hold no
    pending entries and have not read for a day."""
    return RedisStreamEventLog().prune_consumers(group=DEFAULT_GROUP,
                                                 idle_ms=int(idle.total_seconds() * 1000))


def applied_entries_prune(*, older_than: timedelta = APPLIED_ENTRY_RETENTION) -> int:
    deleted, _ = AppliedEntry.objects.filter(applied_at__lt=timezone.now() - older_than).delete()
    return deleted


def analytics_purge_user(*, user_id: int) -> None:
    """Account removal (accounts' hook, inside the purge transaction): the user's own
    watch rows and creator rows go; their online features are deleted after commit.
    Post-level aggregates keep no user id and stay."""
    UserPostStats.objects.filter(user_id=user_id).delete()
    CreatorDailyStats.objects.filter(creator_id=user_id).delete()
    owner = online.owner_key(user_id=user_id, session_id=None)
    assert owner is not None
    keys = [online.seen_key(owner), *(online.ni_key(owner, kind) for kind in online.NI_KINDS)]

    def forget() -> None:
        try:
            online.write_client().delete(*keys)
        except redis.RedisError as exc:  # they expire on their own (3 and 30 days)
            logger.warning("analytics features of a removed user not deleted: %s", exc)

    transaction.on_commit(forget)


def analytics_export_user(*, user_id: int) -> list[dict[str, Any]]:
    """Data export section: what the service recorded about the user's viewing."""
    return [
        {"post_id": str(row.post_id), "impressions": row.impressions, "plays": row.plays,
         "watch_ms": row.watch_ms, "max_completion": row.max_completion,
         "completed": row.completed, "skipped": row.skipped, "liked": row.liked,
         "shared": row.shared, "not_interested": row.not_interested,
         "last_event_at": row.last_event_at.isoformat()}
        for row in UserPostStats.objects.filter(user_id=user_id).order_by("-last_event_at")
    ]
