"""The daily report table, rebuilt from the events: `rollup_days` (beat
`ads.rollup_daily_stats` every minute: today and yesterday, UTC).

Each run recomputes whole days with one statement per day: the valid events and attributed
conversions received that day, grouped by ad x age band x country, upserted over the day's
rows (events are never deleted, so a day's cells only grow). The numbers are exact and equal
to the events by construction: spend is the sum of the prices charged, reach the exact count
of distinct viewers with a valid impression in the cell (no HyperLogLog). Runs are
serialised by an advisory lock, so an older snapshot never overwrites a newer one."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.utils import timezone

_DAY_SQL = """
WITH ev AS (
    SELECT org_id, campaign_id, ad_group_id, ad_id, age_band, country,
           count(*) FILTER (WHERE invalid_reason = '' AND kind = 'impression') AS impressions,
           count(DISTINCT viewer_key) FILTER (WHERE invalid_reason = ''
                                              AND kind = 'impression') AS reach,
           count(*) FILTER (WHERE invalid_reason = '' AND kind = 'view_2s') AS views_2s,
           count(*) FILTER (WHERE invalid_reason = '' AND kind = 'view_6s') AS views_6s,
           count(*) FILTER (WHERE invalid_reason = '' AND kind = 'completion') AS completions,
           count(*) FILTER (WHERE invalid_reason = '' AND kind = 'click') AS clicks,
           coalesce(sum(price_micros), 0) AS spend,
           count(*) FILTER (WHERE invalid_reason <> '') AS invalid
    FROM ads_adevent
    WHERE created_at >= %(start)s AND created_at < %(end)s
    GROUP BY org_id, campaign_id, ad_group_id, ad_id, age_band, country
), cv AS (
    SELECT org_id, campaign_id, ad_group_id, ad_id, age_band, country, count(*) AS conversions
    FROM ads_adconversion
    WHERE created_at >= %(start)s AND created_at < %(end)s AND ad_id IS NOT NULL
    GROUP BY org_id, campaign_id, ad_group_id, ad_id, age_band, country
)
INSERT INTO ads_addailystats (day, org_id, campaign_id, ad_group_id, ad_id, age_band, country,
                              impressions, reach, views_2s, views_6s, completions, clicks,
                              conversions, spend_micros, invalid_events)
SELECT %(day)s, coalesce(ev.org_id, cv.org_id), coalesce(ev.campaign_id, cv.campaign_id),
       coalesce(ev.ad_group_id, cv.ad_group_id), coalesce(ev.ad_id, cv.ad_id),
       coalesce(ev.age_band, cv.age_band), coalesce(ev.country, cv.country),
       coalesce(ev.impressions, 0), coalesce(ev.reach, 0), coalesce(ev.views_2s, 0),
       coalesce(ev.views_6s, 0), coalesce(ev.completions, 0), coalesce(ev.clicks, 0),
       coalesce(cv.conversions, 0), coalesce(ev.spend, 0), coalesce(ev.invalid, 0)
FROM ev FULL OUTER JOIN cv
  ON ev.ad_id = cv.ad_id AND ev.age_band = cv.age_band AND ev.country = cv.country
ORDER BY 5, 6, 7
ON CONFLICT (day, ad_id, age_band, country) DO UPDATE SET
    impressions = EXCLUDED.impressions, reach = EXCLUDED.reach, views_2s = EXCLUDED.views_2s,
    views_6s = EXCLUDED.views_6s, completions = EXCLUDED.completions, clicks = EXCLUDED.clicks,
    conversions = EXCLUDED.conversions, spend_micros = EXCLUDED.spend_micros,
    invalid_events = EXCLUDED.invalid_events
"""


def rollup_days(days: Iterable[date] | None = None, *, now: datetime | None = None) -> int:
    """Rebuild the report rows of these UTC days (default: yesterday and today); the
    number of rows written."""
    if days is None:
        today = (now or timezone.now()).astimezone(UTC).date()
        days = (today - timedelta(days=1), today)
    written = 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended('ads-rollup', 0))")
        for day in sorted(set(days)):
            start = datetime.combine(day, time.min, tzinfo=UTC)
            cursor.execute(_DAY_SQL, {"day": day, "start": start, "end": start + timedelta(days=1)})
            written += max(cursor.rowcount, 0)
    return written
