"""Trending searches and hashtags, and click-through, from the client event log.

Search is a second consumer group (`search`) of the events stream, next to analytics': the
same run loop (`analytics.services.events_consume`: reclaim, read, chunk, ack,
dead-letter) with this module's `entries_apply`, exactly once per entry through its own
applied-entry table. From each entry it adds, in one transaction:

- `search` events: a search of the normalised query (`history.query_key`) in its UTC hour
  (`SearchTermHour`), the signed-in searcher in `SearchTermUser` (distinct users per day),
  one impression at each position 0..min(result_count, 50)-1 of the tab
  (`SearchPositionDay`), and which term the `search_id` was (`SearchSeen`);
- `search_click` events: a click at the position, and on the term of its `search_id`;
- `play_start` events: a view of each hashtag of the post (`HashtagHour`), the signed-in
  viewer in `HashtagViewer`.

`trending_compute` (beat, every minute) ranks terms and hashtags by how far the last 24 h
rise over the 7 days before (a z-score: (recent - expected) / sqrt(expected + 1), expected
being the baseline scaled to 24 h; new posts using a hashtag count as `USE_WEIGHT` views),
keeps only those with at least `SEARCH_TRENDING_MIN_USERS` distinct signed-in users in the
window (signed-out sessions are free to mint, so they add volume but never reach the
threshold), drops queries and hashtag names containing a blocked search term, and replaces
the `Trending` rows. Reads filter again (apps.search.discovery).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q, Sum
from django.utils import timezone

from apps.accounts.models import User
from apps.analytics import services as analytics_services
from apps.analytics.online import owner_key
from apps.content.models import Hashtag, Post, PostHashtag
from apps.events import schema as ev
from apps.events.log import LogEntry, RedisStreamEventLog
from apps.moderation.detection.selectors import search_blocked_among
from apps.search.models import (
    HashtagHour,
    HashtagViewer,
    SearchAppliedEntry,
    SearchPositionDay,
    SearchSeen,
    SearchTermHour,
    SearchTermUser,
    Trending,
)
from apps.search.services.history import query_key

GROUP = "search"
RECENT = timedelta(hours=24)
BASELINE = timedelta(days=7)
POSITION_CAP = 50  # impressions are counted for the first 50 positions of a search
USE_WEIGHT = 20  # a new post using a hashtag weighs as much as this many views
TRENDING_SIZE = 20
CANDIDATES = 200  # terms/hashtags scored per run (the most active past the threshold)
SEEN_RETENTION = timedelta(days=2)
APPLIED_RETENTION = timedelta(days=7)
TRENDING_LOCK = 0x7472656E64  # pg advisory lock key of the trending replace ("trend")
POSITION_RETENTION = timedelta(days=90)


def min_users() -> int:
    return int(settings.SEARCH_TRENDING_MIN_USERS)


def _hour(ms: int) -> datetime:
    return datetime.fromtimestamp(ms // 3_600_000 * 3600, tz=UTC)


def _day(ms: int) -> date:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).date()


@dataclass
class _Deltas:
    term_hour: dict[tuple[str, datetime], dict[str, int]] = field(default_factory=dict)
    term_users: set[tuple[str, date, int]] = field(default_factory=set)
    positions: dict[tuple[date, str, int], dict[str, int]] = field(default_factory=dict)
    seen: dict[tuple[str, str], tuple[str, datetime]] = field(default_factory=dict)
    tag_hour: dict[tuple[int, datetime], dict[str, int]] = field(default_factory=dict)
    tag_viewers: set[tuple[int, date, int]] = field(default_factory=set)
    events: int = 0


def _add(rows: dict[Any, dict[str, int]], key: Any, column: str, by: int = 1) -> None:
    row = rows.setdefault(key, {})
    row[column] = row.get(column, 0) + by


def _accumulate(batches: Sequence[dict[str, Any]]) -> _Deltas:
    """Fold decoded batches ({"u", "rt", "e"}) into deltas (three reads: the batch's users,
    the played posts' hashtags, and the terms of clicks whose search came earlier)."""
    played: set[int] = set()
    clicked: set[tuple[str, str]] = set()
    for batch in batches:
        for e in batch["e"]:
            if e["type"] == ev.PLAY_START and e["post_id"] is not None:
                played.add(e["post_id"])
            elif e["type"] == ev.SEARCH_CLICK:
                owner = owner_key(user_id=batch["u"], session_id=e["session_id"])
                if owner is not None:
                    clicked.add((owner, e["data"]["search_id"]))
    tags: dict[int, list[int]] = {}
    for post_id, tag_id in PostHashtag.objects.filter(post_id__in=played) \
            .values_list("post_id", "hashtag_id"):
        tags.setdefault(post_id, []).append(tag_id)
    people = {b["u"] for b in batches if b["u"] is not None}
    # A user removed since the batch was sent leaves no per-user row (their purge ran).
    known = set(User.objects.filter(pk__in=people).values_list("id", flat=True)) \
        if people else set()
    earlier: dict[tuple[str, str], str] = {}
    if clicked:
        owners = {owner for owner, _ in clicked}
        ids = {search_id for _, search_id in clicked}
        for owner, search_id, term in SearchSeen.objects.filter(
                owner__in=owners, search_id__in=ids).values_list("owner", "search_id", "term"):
            earlier[(owner, search_id)] = term

    out = _Deltas()
    for batch in batches:
        user_id: int | None = batch["u"] if batch["u"] in known else None
        for e in batch["e"]:
            out.events += 1
            _apply(out, e, user_id=batch["u"], known_user=user_id, received_ms=batch["rt"],
                   tags=tags, earlier=earlier)
    return out


def _apply(out: _Deltas, e: dict[str, Any], *, user_id: int | None, known_user: int | None,
           received_ms: int, tags: dict[int, list[int]],
           earlier: dict[tuple[str, str], str]) -> None:
    kind = e["type"]
    if kind not in (ev.SEARCH, ev.SEARCH_CLICK, ev.PLAY_START):
        return
    ms = min(e["ts"], received_ms)  # never in a future bucket
    hour, day = _hour(ms), _day(ms)
    data: dict[str, Any] = e["data"]
    if kind == ev.PLAY_START:
        for tag in tags.get(e["post_id"], []):
            _add(out.tag_hour, (tag, hour), "views")
            if known_user is not None:
                out.tag_viewers.add((tag, day, known_user))
        return
    owner = owner_key(user_id=user_id, session_id=e["session_id"])
    tab: str = data["tab"]
    if kind == ev.SEARCH:
        term = query_key(data["query"])
        for position in range(min(data["result_count"], POSITION_CAP)):
            _add(out.positions, (day, tab, position), "impressions")
        if not term:
            return
        _add(out.term_hour, (term, hour), "searches")
        if known_user is not None:
            out.term_users.add((term, day, known_user))
        if owner is not None:
            out.seen[(owner, data["search_id"])] = (term, datetime.fromtimestamp(ms / 1000,
                                                                                  tz=UTC))
        return
    _add(out.positions, (day, tab, data["position"]), "clicks")
    if owner is None:
        return
    key = (owner, data["search_id"])
    term = out.seen[key][0] if key in out.seen else earlier.get(key, "")
    if term:
        _add(out.term_hour, (term, hour), "clicks")


def _write(deltas: _Deltas) -> None:
    upsert = analytics_services.additive_upsert
    upsert("search_searchtermhour", ("term", "hour"), {"searches": "add", "clicks": "add"},
           deltas.term_hour)
    upsert("search_searchpositionday", ("day", "tab", "position"),
           {"impressions": "add", "clicks": "add"}, deltas.positions)
    upsert("search_hashtaghour", ("hashtag_id", "hour"), {"views": "add"}, deltas.tag_hour)
    SearchTermUser.objects.bulk_create(
        [SearchTermUser(term=t, day=d, user_id=u) for t, d, u in sorted(deltas.term_users)],
        ignore_conflicts=True)
    HashtagViewer.objects.bulk_create(
        [HashtagViewer(hashtag_id=t, day=d, user_id=u)
         for t, d, u in sorted(deltas.tag_viewers)], ignore_conflicts=True)
    SearchSeen.objects.bulk_create(
        [SearchSeen(owner=o, search_id=s, term=term, seen_at=at)
         for (o, s), (term, at) in sorted(deltas.seen.items())], ignore_conflicts=True)


def entries_apply(*, stream: str, entries: Sequence[LogEntry]) -> tuple[int, int, int]:
    """Apply log entries to search's aggregates exactly once (the analytics consumer's
    protocol, with search's applied-entry table); (applied, events, undecodable)."""
    good = [e for e in entries if e.batch is not None]
    with transaction.atomic():
        fresh = analytics_services.claim_entries(
            stream, [e.entry_id for e in good], table=SearchAppliedEntry._meta.db_table)
        batches = [{"u": e.batch.user_id, "rt": e.batch.received_ms, "e": e.batch.events}
                   for e in good if e.entry_id in fresh and e.batch is not None]
        deltas = _accumulate(batches)
        _write(deltas)
    return len(fresh), deltas.events, len(entries) - len(good)


def events_consume(*, log: RedisStreamEventLog | None = None,
                   max_entries: int | None = None) -> analytics_services.ConsumeReport:
    """One run of the `search` consumer group over the event log."""
    return analytics_services.events_consume(log=log, group=GROUP, max_entries=max_entries,
                                             apply_entries=entries_apply)


# --- ranking -----------------------------------------------------------------------------


def _rise(recent: float, baseline: float) -> float:
    expected = baseline * (RECENT / BASELINE)
    return (recent - expected) / math.sqrt(expected + 1)


def _rank(activity: dict[Any, tuple[float, float]]) -> list[tuple[Any, float, float]]:
    scored = [(key, _rise(recent, base), recent) for key, (recent, base) in activity.items()
              if recent > 0]
    scored.sort(key=lambda row: (-row[1], -row[2], str(row[0])))
    return scored


def _search_activity(now: datetime) -> dict[str, tuple[float, float]]:
    since, start = now - RECENT, now - RECENT - BASELINE
    eligible = list(SearchTermUser.objects.filter(day__gte=since.date())
                    .values("term").annotate(users=Count("user_id", distinct=True))
                    .filter(users__gte=min_users()).order_by("-users", "term")
                    .values_list("term", flat=True)[:CANDIDATES])
    rows = SearchTermHour.objects.filter(term__in=eligible, hour__gte=start).values("term") \
        .annotate(recent=Sum("searches", filter=Q(hour__gte=since), default=0),
                  base=Sum("searches", filter=Q(hour__lt=since), default=0))
    return {row["term"]: (float(row["recent"]), float(row["base"])) for row in rows}


def _hashtag_activity(now: datetime) -> dict[int, tuple[float, float]]:
    since, start = now - RECENT, now - RECENT - BASELINE
    eligible = list(HashtagViewer.objects.filter(day__gte=since.date())
                    .values("hashtag_id").annotate(users=Count("user_id", distinct=True))
                    .filter(users__gte=min_users()).order_by("-users", "hashtag_id")
                    .values_list("hashtag_id", flat=True)[:CANDIDATES])
    activity: dict[int, list[float]] = {tag: [0.0, 0.0] for tag in eligible}
    for row in HashtagHour.objects.filter(hashtag_id__in=eligible, hour__gte=start) \
            .values("hashtag_id").annotate(
                recent=Sum("views", filter=Q(hour__gte=since), default=0),
                base=Sum("views", filter=Q(hour__lt=since), default=0)):
        activity[row["hashtag_id"]] = [float(row["recent"]), float(row["base"])]
    uses = PostHashtag.objects.filter(
        hashtag_id__in=eligible, post__status=Post.Status.PUBLISHED,
        post__published_at__gte=start).values("hashtag_id").annotate(
            recent=Count("post_id", filter=Q(post__published_at__gte=since)),
            base=Count("post_id", filter=Q(post__published_at__lt=since)))
    for row in uses:
        pair = activity[row["hashtag_id"]]
        pair[0] += USE_WEIGHT * row["recent"]
        pair[1] += USE_WEIGHT * row["base"]
    return {tag: (pair[0], pair[1]) for tag, pair in activity.items()}


def trending_compute(*, now: datetime | None = None) -> dict[str, int]:
    """Recompute both trending lists (see the module docstring); returns their sizes."""
    now = now or timezone.now()
    terms = _rank(_search_activity(now))
    tags = _rank(_hashtag_activity(now))
    names = dict(Hashtag.objects.filter(pk__in=[t for t, _, _ in tags])
                 .values_list("id", "name"))
    blocked = search_blocked_among([t for t, _, _ in terms] + list(names.values()))
    kept_terms = [row for row in terms if row[0] not in blocked][:TRENDING_SIZE]
    kept_tags = [row for row in tags
                 if row[0] in names and names[row[0]] not in blocked][:TRENDING_SIZE]
    rows = [Trending(kind=Trending.Kind.SEARCH, rank=i, term=term, score=score, recent=recent,
                     computed_at=now)
            for i, (term, score, recent) in enumerate(kept_terms, 1)]
    rows += [Trending(kind=Trending.Kind.HASHTAG, rank=i, hashtag_id=tag, score=score,
                      recent=recent, computed_at=now)
             for i, (tag, score, recent) in enumerate(kept_tags, 1)]
    with transaction.atomic():
        # two runs at once would each delete, then collide on (kind, rank): one at a time
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [TRENDING_LOCK])
        Trending.objects.all().delete()
        Trending.objects.bulk_create(rows)
    return {"searches": len(kept_terms), "hashtags": len(kept_tags)}


def trending_prune(*, now: datetime | None = None) -> int:
    """Drop counts older than the baseline window needs (and old click maps, applied-entry
    rows and position stats); returns how many rows went."""
    now = now or timezone.now()
    horizon = now - RECENT - BASELINE - timedelta(days=1)
    deleted = 0
    for model, lookup in ((SearchTermHour, {"hour__lt": horizon}),
                          (HashtagHour, {"hour__lt": horizon}),
                          (SearchTermUser, {"day__lt": horizon.date()}),
                          (HashtagViewer, {"day__lt": horizon.date()}),
                          (SearchSeen, {"seen_at__lt": now - SEEN_RETENTION}),
                          (SearchAppliedEntry, {"applied_at__lt": now - APPLIED_RETENTION}),
                          (SearchPositionDay, {"day__lt": (now - POSITION_RETENTION).date()})):
        deleted += model.objects.filter(**lookup).delete()[0]
    RedisStreamEventLog().prune_consumers(group=GROUP, idle_ms=24 * 3600 * 1000)
    return deleted
