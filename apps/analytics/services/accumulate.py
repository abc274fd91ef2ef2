"""Folding decoded log batches into the deltas of one chunk, in memory: per user and
post, per post and hour, per creator and day, retention curves, online features."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from apps.accounts.models import User
from apps.analytics import online
from apps.content.models import Post, PostHashtag
from apps.events import schema as ev

RETENTION_STEPS = 20  # retention curve points at 0 %, 5 %, ..., 100 %


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
            if e["type"] in (ev.FOLLOW, ev.UNFOLLOW):
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

    if kind in (ev.FOLLOW, ev.UNFOLLOW) and data["creator_id"] in known_creators:
        _inc(agg.cd(data["creator_id"], ms),
             "followers_gained" if kind == ev.FOLLOW else "followers_lost")
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
        if data.get("source") in ev.PLAY_SOURCES:
            _inc(cd, f"views_{data['source']}")
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
