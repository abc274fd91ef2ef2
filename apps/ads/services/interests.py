"""Interests from what people watch (issue 19): each signed-in adult's watched topics,
stored in `WatchedTopics` for serving and the audience estimate to read (one rule:
`targeting.watched_topics`).

- `watched_topics_refresh(user_ids=)` computes the rows in batches from analytics' recent
  positives (`positive_post_ids_by_user`: completed or liked within
  `SWIPEME_ADS_WATCHED_DAYS`, the latest `SWIPEME_ADS_WATCHED_POSTS`) and content's
  hashtags (`hashtag_names_by_post`); minors and accounts without a date of birth get no
  row (an old one is deleted). Idempotent: run twice, the same rows.
- Serving asks for a refresh without waiting: `targeting.interests_of` calls
  `watched_topics_due(user_id)` (SADD to a Redis set) when a viewer's row is missing or
  older than `SWIPEME_ADS_WATCHED_REFRESH_SECONDS`; the task `ads.refresh_watched_topics`
  (beat) takes the set's users (`watched_topics_take_due`), the rows stale for a day and,
  with what is left of its batch, adults who have no row yet.
- `watched_topics_backfill()` (command `ads_backfill_watched_topics`) gives every adult
  without a row one at once, in batches (existing accounts, after the feature shipped).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

import redis
from django.db.models import Exists, OuterRef
from django.utils import timezone

from apps.accounts.models import User
from apps.ads.conf import conf
from apps.ads.models import WatchedTopics
from apps.ads.services.audiences import adult_born_by_date
from apps.ads.targeting import watched_topics
from apps.analytics.selectors import positive_post_ids_by_user
from apps.content.selectors import hashtag_names_by_post

logger = logging.getLogger(__name__)

DUE_KEY = "ads:watched:due"
MISSING_CURSOR_KEY = "ads:watched:missing_after"
MISSING_CURSOR_TTL = 24 * 3600
BATCH = 500


def watched_topics_stale(computed_at: datetime | None, *, now: datetime | None = None) -> bool:
    """Whether a row computed at `computed_at` (None: no row) should be computed again."""
    if computed_at is None:
        return True
    age = ((now or timezone.now()) - computed_at).total_seconds()
    return age >= float(conf("SWIPEME_ADS_WATCHED_REFRESH_SECONDS"))


def watched_topics_due(user_id: int) -> None:
    """Put the user on the refresh task's list (one SADD; a Redis error is logged, never
    raised: the feed's page must not depend on it)."""
    from apps.ads.delivery.redis_client import client

    try:
        client().sadd(DUE_KEY, int(user_id))
    except redis.RedisError as exc:
        logger.warning("ads: watched-topics refresh not requested (%s)", exc)


def watched_topics_take_due(limit: int) -> list[int]:
    """Up to `limit` users asked for by serving (taken off the list)."""
    from apps.ads.delivery.redis_client import client

    taken: list[str] = client().spop(DUE_KEY, limit) or []  # type: ignore[assignment]
    return sorted(int(v) for v in taken)


def watched_topics_refresh(*, user_ids: list[int], now: datetime | None = None) -> int:
    """Compute and store the watched topics of these users (adults with at least one topic
    get a row with their topics, every other adult an empty row, the rest none). Returns
    how many rows were written."""
    now = now or timezone.now()
    since = now - timedelta(days=int(conf("SWIPEME_ADS_WATCHED_DAYS")))
    per_user = int(conf("SWIPEME_ADS_WATCHED_POSTS"))
    min_posts = int(conf("SWIPEME_ADS_WATCHED_MIN_POSTS"))
    adult_born_by = adult_born_by_date(timezone.localdate())
    written = 0
    ids = sorted({int(u) for u in user_ids})
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        adults = set(
            User.objects.filter(pk__in=chunk, date_of_birth__lte=adult_born_by).values_list(
                "pk", flat=True
            )
        )
        WatchedTopics.objects.filter(user_id__in=set(chunk) - adults).delete()
        positives = positive_post_ids_by_user(user_ids=sorted(adults), since=since,
                                              limit=per_user)
        tags = hashtag_names_by_post({p for posts in positives.values() for p in posts})
        rows = [
            WatchedTopics(
                user_id=uid,
                topics=sorted(
                    watched_topics(
                        (tags.get(p, ()) for p in positives.get(uid, ())), min_posts=min_posts
                    )
                ),
                computed_at=now,
            )
            for uid in sorted(adults)
        ]
        WatchedTopics.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["topics", "computed_at"],
        )
        written += len(rows)
    return written


def watched_topics_refresh_due(*, limit: int = 5000, now: datetime | None = None) -> int:
    """The task's run: the users serving asked for, then rows a day old (a watcher who no
    longer comes keeps counting in estimates only with topics at most a day stale), then
    adults who have no row yet (accounts from before watched topics existed, who were not
    served since: the audience estimate counts them too), lowest ids first from where the
    previous run stopped."""
    now = now or timezone.now()
    asked = watched_topics_take_due(limit)
    old = list(
        WatchedTopics.objects.filter(computed_at__lt=now - timedelta(days=1))
        .order_by("computed_at")
        .values_list("user_id", flat=True)[: max(0, limit - len(asked))]
    )
    room = limit - len(asked) - len(old)
    missing = _adults_without_row_from_cursor(room) if room > 0 else []
    return watched_topics_refresh(user_ids=[*asked, *old, *missing], now=now)


def _adults_without_row_from_cursor(limit: int) -> list[int]:
    """The next adults without a row, resumed where the previous run stopped
    (`MISSING_CURSOR_KEY`): after the backfill only new sign-ups lack a row, and scanning
    every adult from the first id every 5 minutes would find just those. The cursor lives
    a day, so once a day the sweep starts again from the first id and also finds accounts
    that became adults (or lost their row) below it."""
    from apps.ads.delivery.redis_client import client

    r = client()
    after = int(r.get(MISSING_CURSOR_KEY) or 0)
    newest = User.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ids = adults_without_row(after=after, limit=limit)
    # a short answer means every id up to `newest` (read before the scan) was checked
    cursor = ids[-1] if len(ids) == limit else max(newest, ids[-1] if ids else 0)
    if after:
        r.set(MISSING_CURSOR_KEY, cursor, keepttl=True)
    else:
        r.set(MISSING_CURSOR_KEY, cursor, ex=MISSING_CURSOR_TTL)
    return ids


def adults_without_row(*, after: int, limit: int) -> list[int]:
    """Up to `limit` ids above `after`, ascending, of active adults with no watched-topics
    row (minors and unknown ages never get one, so they are never listed)."""
    adult_born_by = adult_born_by_date(timezone.localdate())
    return list(
        User.objects.filter(pk__gt=after, is_active=True, date_of_birth__lte=adult_born_by)
        .filter(~Exists(WatchedTopics.objects.filter(user_id=OuterRef("pk"))))
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )


def watched_topics_backfill(*, batch: int = BATCH, now: datetime | None = None) -> int:
    """Give every active adult without a row one (the `ads_backfill_watched_topics`
    command), `batch` users per statement set and transaction; the rows written.
    Resumable: run again after an interruption, it picks up the users still without."""
    now = now or timezone.now()
    written, after = 0, 0
    while True:
        ids = adults_without_row(after=after, limit=batch)
        if not ids:
            return written
        written += watched_topics_refresh(user_ids=ids, now=now)
        after = ids[-1]

