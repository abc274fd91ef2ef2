"""Reach: how many distinct viewers were shown a post, from the event lake (the hourly
aggregates count impressions, not people). A viewer is their account when signed in, else
their device id, else their session (the same units as the experiments' analysis). Read
through the lake's engine (chdb or a ClickHouse server), so it covers what the lake's
flush has written: up to a few minutes behind the live counters."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import UTC, datetime

from django.utils import timezone

from apps.analytics.lake import engine

logger = logging.getLogger(__name__)

REACH_SQL = """
SELECT post_id, uniqExact(multiIf(
    user_id IS NOT NULL, concat('u:', toString(user_id)),
    ifNull(device_id, '') != '', concat('d:', assumeNotNull(device_id)),
    concat('s:', session_id))) AS viewers
FROM events
WHERE type = 'impression' AND post_id IN {posts:Array(Int64)}
  AND ts >= {start:DateTime64(3)} AND ts < {end:DateTime64(3)}
GROUP BY post_id
"""


def post_reach(post_ids: Sequence[int], *, since: datetime,
               until: datetime | None = None) -> dict[int, int] | None:
    """Distinct viewers shown each post in [since, until) (every id in the answer), or None
    when the lake cannot be read (the caller says so rather than showing a wrong figure)."""
    if not post_ids:
        return {}
    end = until or timezone.now()
    try:
        rows = engine.run(
            REACH_SQL,
            {"posts": [int(p) for p in post_ids], "start": since.astimezone(UTC),
             "end": end.astimezone(UTC)},
            days=(since.astimezone(UTC).date(), end.astimezone(UTC).date()))
    except engine.EngineError:
        logger.warning("analytics: reach unavailable (the lake could not be read)",
                       exc_info=True)
        return None
    found = {int(post): int(viewers) for post, viewers in rows}
    return {int(p): found.get(int(p), 0) for p in post_ids}
