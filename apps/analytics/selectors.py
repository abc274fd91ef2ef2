"""Reads of the event aggregates, for the feed and for creator analytics.

The feed's reads (`seen_post_ids`, `seen_among`, `not_interested_for`, `post_velocity`)
hit Redis only and never raise: when Redis is unavailable they answer empty (and log), so
serving degrades to the heuristic feed (`seen_among_with`, which also asks a set of the
feed's, answers None then, so the feed knows its own set went unread). The Postgres reads
(`watch_stats_for`, `completed_post_ids`, `post_totals`) are single indexed queries.

A viewer is `user_id` when signed in, otherwise the client's `session_id` (the one its
events carry); pass both when both are known, the user wins.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import redis
from django.db import connection
from django.db.models import Case, Count, F, Q, Sum, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone

from apps.accounts.models import User
from apps.analytics import online
from apps.analytics.models import (
    CreatorDailyStats,
    PostHourlyStats,
    PostRetention,
    PostSecondRetention,
    UserPostStats,
)
from apps.content.models import Post
from apps.content.selectors import POST_NOT_FOUND, get_post_for, parse_post_id
from apps.core.errors import ForbiddenError, NotFoundError
from apps.events.schema import PLAY_SOURCES

logger = logging.getLogger(__name__)


# --- online features (Redis) for the feed ------------------------------------------------


@dataclass(frozen=True)
class NotInterested:
    """Ids the viewer said "not interested" to (through posts), most recent 200 of each."""

    creators: frozenset[int] = frozenset()
    sounds: frozenset[int] = frozenset()
    hashtags: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Velocity:
    """Events on a post in the last hour (12 five-minute buckets, the current one partial)."""

    impressions: int = 0
    plays: int = 0
    completions: int = 0
    likes: int = 0
    shares: int = 0


def seen_post_ids(*, user_id: int | None, session_id: str | None = None,
                  limit: int = online.SEEN_KEEP) -> list[int]:
    """Posts the viewer was shown or watched in the last 3 days (per the event stream),
    most recent first, at most `limit` (1000 kept). Empty if Redis is unavailable."""
    owner = online.owner_key(user_id=user_id, session_id=session_id)
    if owner is None:
        return []
    try:
        return online.read_seen(owner, limit)
    except redis.RedisError as exc:
        logger.warning("analytics seen-set unavailable: %s", exc)
        return []


def seen_among(*, user_id: int | None, session_id: str | None = None,
               post_ids: Sequence[int]) -> set[int]:
    """Which of `post_ids` the viewer has seen (one ZMSCORE); empty if Redis is down."""
    owner = online.owner_key(user_id=user_id, session_id=session_id)
    if owner is None or not post_ids:
        return set()
    try:
        return online.read_seen_among(owner, list(post_ids))
    except redis.RedisError as exc:
        logger.warning("analytics seen-set unavailable: %s", exc)
        return set()


def seen_among_with(*, user_id: int | None, session_id: str | None = None,
                    post_ids: Sequence[int], own_set: str) -> set[int] | None:
    """`seen_among` together with the caller's own Redis set of post ids on the project's
    Redis (`own_set`: the feed's served posts), in one round trip: the posts in either.
    None if Redis is unavailable (logged), so the caller degrades as it would for its own
    set; an unknown viewer has no seen-set here, only `own_set` is asked."""
    if not post_ids:
        return set()
    owner = online.owner_key(user_id=user_id, session_id=session_id)
    try:
        return online.read_seen_among_with(owner, list(post_ids), own_set)
    except redis.RedisError as exc:
        logger.warning("analytics seen-set unavailable: %s", exc)
        return None


def not_interested_for(*, user_id: int | None, session_id: str | None = None) -> NotInterested:
    """Creators, sounds and hashtags of posts the viewer marked "not interested" in the
    last 30 days (for the feed's fatigue). Empty if Redis is unavailable."""
    owner = online.owner_key(user_id=user_id, session_id=session_id)
    if owner is None:
        return NotInterested()
    try:
        found = online.read_not_interested(owner)
    except redis.RedisError as exc:
        logger.warning("analytics not-interested unavailable: %s", exc)
        return NotInterested()
    return NotInterested(creators=frozenset(found["creator"]), sounds=frozenset(found["sound"]),
                         hashtags=frozenset(found["hashtag"]))


def post_velocity(post_ids: Sequence[int], *, now_ms: int | None = None) -> dict[int, Velocity]:
    """Per post, events in the last hour (trending velocity; the bandit's early completion
    rate is completions/plays). One pipelined round trip; every id is in the answer, all
    zeros when Redis is unavailable."""
    ids = list(dict.fromkeys(post_ids))
    try:
        raw = online.read_velocity(ids, now_ms)
    except redis.RedisError as exc:
        logger.warning("analytics velocity unavailable: %s", exc)
        return {p: Velocity() for p in ids}
    return {p: Velocity(impressions=c["imp"], plays=c["play"], completions=c["comp"],
                        likes=c["like"], shares=c["share"]) for p, c in raw.items()}


# --- aggregates (Postgres) ---------------------------------------------------------------


def watch_stats_for(*, user_id: int, limit: int = 200) -> list[UserPostStats]:
    """The user's per-post watch stats, most recently active first (for training and for
    "similar to what you watched")."""
    return list(UserPostStats.objects.filter(user_id=user_id)
                .order_by("-last_event_at")[:limit])


def completed_post_ids(*, user_id: int, limit: int = 50) -> list[int]:
    """Posts the user watched to the end (or liked), most recent first."""
    return list(UserPostStats.objects.filter(user_id=user_id)
                .filter(Q(completed=True) | Q(liked=True))
                .order_by("-last_event_at").values_list("post_id", flat=True)[:limit])


def positive_post_ids_by_user(*, user_ids: Sequence[int], since: datetime,
                              limit: int = 100) -> dict[int, list[int]]:
    """For each user, the posts they watched to the end or liked (`completed_post_ids`'s
    rule) with activity since `since`, most recent first, at most `limit` each. One
    statement (a LATERAL read per user on the `analytics_ups_recent` index); users with none
    are absent."""
    ids = sorted({int(u) for u in user_ids})
    if not ids:
        return {}
    table = UserPostStats._meta.db_table
    sql = f"""
        SELECT u.id, p.post_id FROM unnest(%s::bigint[]) AS u(id)
        CROSS JOIN LATERAL (
          SELECT post_id, last_event_at FROM {table}
          WHERE user_id = u.id AND last_event_at >= %s AND (completed OR liked)
          ORDER BY last_event_at DESC LIMIT %s) p
        ORDER BY u.id, p.last_event_at DESC
    """  # noqa: S608 - the table name is the model's
    out: dict[int, list[int]] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [ids, since, limit])
        for user_id, post_id in cursor.fetchall():
            out.setdefault(int(user_id), []).append(int(post_id))
    return out


@dataclass(frozen=True)
class PostTotals:
    impressions: int = 0
    plays: int = 0
    watch_ms: int = 0
    completions: int = 0
    skips: int = 0
    likes: int = 0
    shares: int = 0
    comments: int = 0
    follows: int = 0
    not_interested: int = 0


_TOTAL_FIELDS = ("impressions", "plays", "watch_ms", "completions", "skips", "likes",
                 "shares", "comments", "follows", "not_interested")


def post_totals(post_ids: Sequence[int], *, since: datetime) -> dict[int, PostTotals]:
    """Per post, hourly aggregates summed from `since` (one grouped query). Every id is in
    the answer."""
    rows: Any = (PostHourlyStats.objects.filter(post_id__in=list(post_ids), hour__gte=since)
            .values("post_id").annotate(**{f: Sum(f) for f in _TOTAL_FIELDS}))
    out = {p: PostTotals() for p in post_ids}
    for row in rows:
        out[row["post_id"]] = PostTotals(**{f: int(row[f] or 0) for f in _TOTAL_FIELDS})
    return out


# --- creator analytics -------------------------------------------------------------------


@dataclass
class PeriodSummary:
    since: date
    until: date
    impressions: int = 0
    views: int = 0
    watch_ms: int = 0
    average_watch_fraction: float | None = None
    completions: int = 0
    likes: int = 0
    comments: int = 0
    shares: int = 0
    followers_gained: int = 0
    followers_lost: int = 0
    # views by play_start's source (apps.events.schema.PLAY_SOURCES), in that order, then
    # "not_reported" (plays whose client named no source)
    sources: dict[str, int] = field(default_factory=dict)
    daily: list[dict[str, object]] = field(default_factory=list)
    top_posts: list[dict[str, object]] = field(default_factory=list)


def period_bounds(days: int, *, now: datetime | None = None) -> tuple[date, date]:
    today = (now or timezone.now()).astimezone(UTC).date()
    return today - timedelta(days=days - 1), today


def creator_summary_for(*, creator_id: int, days: int, top: int = 10,
                        now: datetime | None = None) -> PeriodSummary:
    """A creator's last `days` UTC days (today included): totals, one row per day, and the
    top posts by views with their captions. Three queries, however many posts."""
    since, until = period_bounds(days, now=now)
    rows = list(CreatorDailyStats.objects.filter(creator_id=creator_id, day__gte=since,
                                                 day__lte=until).order_by("day"))
    summary = PeriodSummary(since=since, until=until,
                            sources=dict.fromkeys((*PLAY_SOURCES, "not_reported"), 0))
    fraction_sum, fraction_count = 0.0, 0
    by_day = {r.day: r for r in rows}
    for offset in range(days):
        day = since + timedelta(days=offset)
        row = by_day.get(day)
        summary.daily.append({"day": day, "views": row.views if row else 0,
                              "watch_ms": row.watch_ms if row else 0,
                              "followers_gained": row.followers_gained if row else 0,
                              "followers_lost": row.followers_lost if row else 0})
        if row is None:
            continue
        summary.impressions += row.impressions
        summary.views += row.views
        summary.watch_ms += row.watch_ms
        summary.completions += row.completions
        summary.likes += row.likes
        summary.comments += row.comments
        summary.shares += row.shares
        summary.followers_gained += row.followers_gained
        summary.followers_lost += row.followers_lost
        sourced = 0
        for source in PLAY_SOURCES:
            views = int(getattr(row, f"views_{source}"))
            summary.sources[source] += views
            sourced += views
        summary.sources["not_reported"] += max(0, row.views - sourced)
        fraction_sum += row.watch_fraction_sum
        fraction_count += row.watch_fraction_count
    if fraction_count:
        summary.average_watch_fraction = fraction_sum / fraction_count
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    top_rows: Any = (PostHourlyStats.objects
                .filter(hour__gte=start,
                        post_id__in=Post.objects.filter(author_id=creator_id).values("id"))
                .values("post_id")
                .annotate(views=Sum("plays"), watch_ms=Sum("watch_ms"),
                          completions=Sum("completions"), likes=Sum("likes"))
                .order_by("-views", "-watch_ms", "post_id")[:top])
    top_rows = list(top_rows)
    posts: dict[int, dict[str, Any]] = {p["id"]: dict(p) for p in Post.objects.filter(
        pk__in=[r["post_id"] for r in top_rows]).values(
        "id", "caption", "status", "published_at")} if top_rows else {}
    for top_row in top_rows:
        info = posts.get(top_row["post_id"], {})
        summary.top_posts.append({**top_row, "caption": info.get("caption", ""),
                                  "status": info.get("status", ""),
                                  "published_at": info.get("published_at")})
    return summary


# --- audience ----------------------------------------------------------------------------

# A group of viewers (a country, an age band, the rest) is shown only when at least this
# many distinct viewers are in it, and the whole audience only from this many: no one
# viewer can be singled out. The one rule: `_at_least_k`.
AUDIENCE_MIN_COUNT = 10
AGE_BANDS: tuple[tuple[str, int], ...] = (  # (label, lowest age) youngest first
    ("13-17", 13), ("18-24", 18), ("25-34", 25), ("35-44", 35), ("45-54", 45), ("55+", 55))
OTHER = "other"


@dataclass(frozen=True)
class AudienceGroup:
    key: str  # an ISO country code, an age band, or "other" (the groups not shown)
    viewers: int
    percent: float


@dataclass(frozen=True)
class Audience:
    min_count: int
    viewers: int | None  # distinct signed-in viewers; None when fewer than min_count
    countries: list[AudienceGroup]
    age_bands: list[AudienceGroup]
    # the viewers' account languages (BCP 47 primary subtag: "pt-BR" reads as "pt")
    languages: list[AudienceGroup] = field(default_factory=list)


def _at_least_k(counts: dict[str, int], total: int) -> list[AudienceGroup]:
    """The groups with at least AUDIENCE_MIN_COUNT viewers, largest first, then "other"
    (the hidden groups and the unknowns together) if it is that large too."""
    shown = sorted(((k, n) for k, n in counts.items() if k and n >= AUDIENCE_MIN_COUNT),
                   key=lambda kn: (-kn[1], kn[0]))
    rest = total - sum(n for _, n in shown)
    if rest >= AUDIENCE_MIN_COUNT:
        shown.append((OTHER, rest))
    return [AudienceGroup(k, n, round(100 * n / total, 1)) for k, n in shown]


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def audience_for(*, creator_id: int, days: int, now: datetime | None = None,
                 languages: bool = False) -> Audience:
    """Who watched the creator's posts in the last `days` UTC days: distinct signed-in
    viewers (not the creator) by country and by age band (and, with `languages`, by account
    language: the marketplace's media kit), each group shown only under `_at_least_k`. Two
    queries (three with languages), however many posts or viewers."""
    since, today = period_bounds(days, now=now)
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    viewers = User.objects.filter(pk__in=UserPostStats.objects.filter(
        post_id__in=Post.objects.filter(author_id=creator_id).values("id"),
        plays__gt=0, last_event_at__gte=start).exclude(user_id=creator_id).values("user_id"))
    by_country = {row["country"]: row["n"] for row in
                  viewers.values("country").annotate(n=Count("id")).order_by()}
    total = sum(by_country.values())
    if total < AUDIENCE_MIN_COUNT:
        return Audience(min_count=AUDIENCE_MIN_COUNT, viewers=None, countries=[],
                        age_bands=[])
    # youngest band first: born after the day its next band begins
    whens = [When(date_of_birth__gt=_years_before(today, AGE_BANDS[i + 1][1]), then=Value(label))
             for i, (label, _) in enumerate(AGE_BANDS[:-1])]
    band = Case(When(date_of_birth__isnull=True, then=Value("")), *whens,
                default=Value(AGE_BANDS[-1][0]))
    by_band = {row["band"]: row["n"] for row in
               viewers.annotate(band=band).values("band").annotate(n=Count("id")).order_by()}
    by_language: dict[str, int] = {}
    for row in (viewers.values("language").annotate(n=Count("id")).order_by()
                if languages else ()):
        key = (row["language"] or "").replace("_", "-").split("-")[0].lower()
        by_language[key] = by_language.get(key, 0) + row["n"]
    return Audience(min_count=AUDIENCE_MIN_COUNT, viewers=total,
                    countries=_at_least_k(by_country, total),
                    age_bands=_at_least_k(by_band, total),
                    languages=_at_least_k(by_language, total))


@dataclass
class PostAnalytics:
    post_id: int
    since: date
    until: date
    totals: dict[str, int]
    average_watch_fraction: float | None
    average_ttff_ms: float | None
    daily: list[dict[str, object]]
    retention: list[dict[str, float]]  # [{"at": 0.0..1.0, "fraction": ...}]
    # viewers still watching at each second: [{"second", "viewers", "fraction"}]
    retention_seconds: list[dict[str, float]] = field(default_factory=list)
    caption: str = ""  # set by get_post_analytics_for
    status: str = ""


def get_post_analytics_for(*, viewer: User, post_id: int | str, days: int,
                           now: datetime | None = None) -> PostAnalytics:
    """A post's analytics for its author only: NotFoundError if the viewer may not see the
    post, ForbiddenError if they may but it is someone else's. Owners see their posts in
    any state (a removed or private post's numbers are still theirs)."""
    pid = parse_post_id(post_id)
    found = Post.objects.filter(pk=pid).values_list("author_id", "caption", "status").first()
    if found is None:
        raise NotFoundError(POST_NOT_FOUND)
    author_id, caption, status = found
    if author_id != viewer.pk:
        get_post_for(viewer=viewer, post_id=pid)  # 404 when not visible to them
        raise ForbiddenError("Only the post's creator sees its analytics.")
    analytics = post_analytics_for(post_id=pid, days=days, now=now)
    analytics.caption, analytics.status = caption, status
    return analytics


def post_analytics_for(*, post_id: int, days: int, now: datetime | None = None
                       ) -> PostAnalytics:
    """One post's last `days` UTC days (today included) from its hourly aggregates, and
    its all-time retention curves (every 5 % and every second). The caller checks
    ownership. Three queries."""
    since, until = period_bounds(days, now=now)
    start = datetime.combine(since, datetime.min.time(), tzinfo=UTC)
    sums = ("impressions", "plays", "watch_ms", "completions", "rewatches", "skips", "likes",
            "comments", "shares", "favourites", "follows", "not_interested", "reports",
            "watch_fraction_sum", "watch_fraction_count", "ttff_ms_sum", "ttff_count",
            "rebuffer_count", "rebuffer_ms")
    per_day: list[Any] = list(PostHourlyStats.objects.filter(post_id=post_id, hour__gte=start)
                   .annotate(day=TruncDate("hour", tzinfo=UTC)).values("day")
                   .annotate(**{f"s_{f}": Sum(F(f)) for f in sums}, hours=Count("id"))
                   .order_by("day"))
    totals: dict[str, float] = dict.fromkeys(sums, 0)
    by_day: dict[date, Any] = {}
    for row in per_day:
        by_day[row["day"]] = row
        for f in sums:
            totals[f] += row[f"s_{f}"] or 0
    daily: list[dict[str, object]] = []
    for offset in range(days):
        day = since + timedelta(days=offset)
        row = by_day.get(day)
        daily.append({"day": day, "views": int(row["s_plays"] or 0) if row else 0,
                      "watch_ms": int(row["s_watch_ms"] or 0) if row else 0})
    retention: list[dict[str, float]] = []
    record = PostRetention.objects.filter(post_id=post_id).first()
    if record is not None and record.reached and record.reached[0]:
        base = record.reached[0]
        retention = [{"at": i / 20, "fraction": n / base} for i, n in enumerate(record.reached)]
    seconds: list[dict[str, float]] = []
    per_second = PostSecondRetention.objects.filter(post_id=post_id).first()
    if per_second is not None and per_second.reached and per_second.reached[0]:
        base = per_second.reached[0]
        seconds = [{"second": i, "viewers": n, "fraction": n / base}
                   for i, n in enumerate(per_second.reached)]
    return PostAnalytics(
        post_id=post_id, since=since, until=until,
        totals={f: int(totals[f]) for f in sums
                if f not in ("watch_fraction_sum", "watch_fraction_count", "ttff_ms_sum",
                             "ttff_count")},
        average_watch_fraction=(totals["watch_fraction_sum"] / totals["watch_fraction_count"]
                                if totals["watch_fraction_count"] else None),
        average_ttff_ms=(totals["ttff_ms_sum"] / totals["ttff_count"]
                         if totals["ttff_count"] else None),
        daily=daily, retention=retention, retention_seconds=seconds,
    )
