"""QoE figures from the event lake: the client's `qoe` reports (one per play, sent right
after the play's `watch_end` or `skip`), paired with that play's watch time, summed by day,
platform, network type and rung in ONE query (ClickHouse GROUPING SETS) through the lake's
engine (chdb, or a ClickHouse server: apps.analytics.lake.engine).

Definitions (the page, the alert thresholds and the tests use these and nothing else):

- reports: `qoe` events in the range (≈ plays: the web client sends one per play).
- time to first frame p50 / p95: over the reports carrying `ttff_ms`, ClickHouse's
  `quantileExact`: the value at 0-based rank floor(q·n) of the n sorted values.
- rebuffer ratio: Σ rebuffer_ms / Σ watched_ms over the reports paired with their play
  (the same session and post's latest `watch_end`/`skip` at or before the report, at most
  60 s before it: an ASOF join); stall time per unit of watch time.
- stall percentage: % of reports with at least one rebuffer.
- average bitrate: Σ bitrate_kbps·watched_ms / Σ watched_ms over the paired reports that
  carry a bitrate (time-weighted: a long play at 360p weighs more than a skip at 1080p).
- start-up failures: reports with an `error` and no first frame; the failure rate is
  their share of the reports.
- platform: `web` unless the batch was stamped with an app version (the native apps'
  `X-App-Version`); then `android` or `ios` by the user agent, else `other`.
- network: the report's `network_type` (`unknown` when absent); rung: the report's `rung`
  (the rendition's short edge, 360 ...), "" when the client did not send one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from apps.analytics.lake import engine

PAIR_WINDOW_MS: Final = 60_000
PLATFORMS: Final = ("web", "ios", "android", "other")

PLATFORM_SQL: Final = (
    "multiIf(ifNull(app_version, '') = '', 'web', "
    "positionCaseInsensitive(ifNull(user_agent, ''), 'android') > 0, 'android', "
    "match(lower(ifNull(user_agent, '')), 'iphone|ipad|ios|cfnetwork|darwin'), 'ios', "
    "'other')"
)

# The paired reports: each qoe event with its play's watch time (NULL when unpaired).
_PAIRED: Final = f"""
SELECT q.day AS day, q.platform AS platform, q.network AS network, q.rung AS rung,
       q.ttff_ms AS ttff_ms, q.rebuffer_count AS rebuffer_count,
       q.rebuffer_ms AS rebuffer_ms, q.bitrate_kbps AS bitrate_kbps, q.error AS error,
       if(w.watched_ms IS NOT NULL
          AND dateDiff('millisecond', w.ts, q.ts) <= {PAIR_WINDOW_MS}, w.watched_ms, NULL)
         AS watched_ms
FROM (
    SELECT session_id, ifNull(post_id, 0) AS post, ts, toDate(ts) AS day,
           {PLATFORM_SQL} AS platform, ifNull(network_type, 'unknown') AS network,
           ifNull(toString(rung), '') AS rung, ttff_ms, rebuffer_count, rebuffer_ms,
           bitrate_kbps, ifNull(error, '') AS error
    FROM events
    WHERE type = 'qoe' AND ts >= {{start:DateTime64(3)}} AND ts < {{end:DateTime64(3)}}
) AS q
ASOF LEFT JOIN (
    SELECT session_id, ifNull(post_id, 0) AS post, ts, watched_ms
    FROM events
    WHERE type IN ('watch_end', 'skip')
      AND ts >= {{pair_start:DateTime64(3)}} AND ts < {{end:DateTime64(3)}}
) AS w
ON q.session_id = w.session_id AND q.post = w.post AND q.ts >= w.ts
"""  # noqa: S608 - constants only; every value is a query parameter

_MEASURES: Final = """
    count() AS reports,
    countIf(ttff_ms IS NOT NULL) AS ttff_count,
    quantileExact(0.5)(ttff_ms) AS ttff_p50,
    quantileExact(0.95)(ttff_ms) AS ttff_p95,
    sumIf(ifNull(rebuffer_ms, 0), watched_ms IS NOT NULL) AS paired_rebuffer_ms,
    sumIf(watched_ms, watched_ms IS NOT NULL) AS paired_watched_ms,
    countIf(ifNull(rebuffer_count, 0) > 0) AS stalled,
    sumIf(bitrate_kbps * watched_ms, bitrate_kbps IS NOT NULL AND watched_ms IS NOT NULL)
      AS bitrate_weighted,
    sumIf(watched_ms, bitrate_kbps IS NOT NULL AND watched_ms IS NOT NULL) AS bitrate_watched_ms,
    countIf(error != '' AND ttff_ms IS NULL) AS startup_failures
"""

_FILTERS: Final = """
WHERE ({platform:String} = '' OR platform = {platform:String})
  AND ({network:String} = '' OR network = {network:String})
  AND ({rung:String} = '' OR rung = {rung:String})
"""

REPORT_SQL: Final = f"""
SELECT multiIf(grouping(day) = 0, 'day', grouping(platform) = 0, 'platform',
               grouping(network) = 0, 'network', grouping(rung) = 0, 'rung', 'all') AS dim,
       multiIf(grouping(day) = 0, toString(day), grouping(platform) = 0, platform,
               grouping(network) = 0, network, grouping(rung) = 0, rung, '') AS value,
       {_MEASURES}
FROM ({_PAIRED}) {_FILTERS}
GROUP BY GROUPING SETS ((day), (platform), (network), (rung), ())
"""  # noqa: S608 - constants only

WINDOW_SQL: Final = f"SELECT {_MEASURES} FROM ({_PAIRED}) {_FILTERS}"  # noqa: S608

FIGURES: Final = {
    "ttff_p50_ms": ("Time to first frame p50", "ms"),
    "ttff_p95_ms": ("Time to first frame p95", "ms"),
    "rebuffer_ratio": ("Rebuffer ratio", "%"),
    "stall_percentage": ("Plays with a stall", "%"),
    "avg_bitrate_kbps": ("Average bitrate", "kbps"),
    "startup_failure_rate": ("Start-up failures", "%"),
}


@dataclass(frozen=True)
class QoeFilters:
    first_day: date
    last_day: date
    platform: str = ""
    network: str = ""
    rung: str = ""  # "" = every rung; the rung's short edge as text otherwise

    def params(self, start: datetime, end: datetime) -> dict[str, Any]:
        return {
            "start": start,
            "end": end,
            "pair_start": start - timedelta(milliseconds=PAIR_WINDOW_MS),
            "platform": self.platform,
            "network": self.network,
            "rung": self.rung,
        }


@dataclass(frozen=True)
class QoeRow:
    """The figures of one group (a day, a platform, a network type, a rung, or all)."""

    key: str
    reports: int
    ttff_count: int
    ttff_p50_ms: float | None
    ttff_p95_ms: float | None
    rebuffer_ratio: float | None  # a fraction (0.012 = 1.2 %)
    stall_percentage: float | None  # 0..100
    avg_bitrate_kbps: float | None
    startup_failures: int
    startup_failure_rate: float | None  # 0..100

    def figure(self, name: str) -> float | None:
        value = getattr(self, name)
        if value is None:
            return None
        return float(value) * 100 if name == "rebuffer_ratio" else float(value)


@dataclass
class QoeReport:
    filters: QoeFilters
    total: QoeRow
    by_day: list[QoeRow] = field(default_factory=list)
    by_platform: list[QoeRow] = field(default_factory=list)
    by_network: list[QoeRow] = field(default_factory=list)
    by_rung: list[QoeRow] = field(default_factory=list)


def _ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


def _row(key: str, values: dict[str, Any]) -> QoeRow:
    reports = int(values["reports"] or 0)
    ttff_count = int(values["ttff_count"] or 0)

    def quantile(value: Any) -> float | None:
        if not ttff_count or value is None or (isinstance(value, float) and math.isnan(value)):
            return None
        return float(value)

    return QoeRow(
        key=key,
        reports=reports,
        ttff_count=ttff_count,
        ttff_p50_ms=quantile(values["ttff_p50"]),
        ttff_p95_ms=quantile(values["ttff_p95"]),
        rebuffer_ratio=_ratio(
            float(values["paired_rebuffer_ms"] or 0), float(values["paired_watched_ms"] or 0)
        ),
        stall_percentage=_ratio(100.0 * int(values["stalled"] or 0), reports),
        avg_bitrate_kbps=_ratio(
            float(values["bitrate_weighted"] or 0), float(values["bitrate_watched_ms"] or 0)
        ),
        startup_failures=int(values["startup_failures"] or 0),
        startup_failure_rate=_ratio(100.0 * int(values["startup_failures"] or 0), reports),
    )


_MEASURE_NAMES: Final = (
    "reports",
    "ttff_count",
    "ttff_p50",
    "ttff_p95",
    "paired_rebuffer_ms",
    "paired_watched_ms",
    "stalled",
    "bitrate_weighted",
    "bitrate_watched_ms",
    "startup_failures",
)


def _day_bounds(first: date, last: date) -> tuple[datetime, datetime]:
    return (
        datetime.combine(first, time.min, tzinfo=UTC),
        datetime.combine(last + timedelta(days=1), time.min, tzinfo=UTC),
    )


def _rung_order(row: QoeRow) -> tuple[int, int]:
    return (1, 0) if not row.key else (0, int(row.key)) if row.key.isdigit() else (2, 0)


def qoe_report(filters: QoeFilters) -> QoeReport:
    """Every figure for the days and filters: overall, per day (days without reports are
    left out), per platform, network type and rung (most reports first; rungs by size)."""
    start, end = _day_bounds(filters.first_day, filters.last_day)
    table = engine.run_arrow(
        REPORT_SQL,
        filters.params(start, end),
        days=(filters.first_day - timedelta(days=1), filters.last_day),
    )
    data = table.to_pydict()
    groups: dict[str, list[QoeRow]] = {"day": [], "platform": [], "network": [], "rung": []}
    total = _row("", dict.fromkeys(_MEASURE_NAMES, 0))
    for i, dim in enumerate(data.get("dim", [])):
        row = _row(str(data["value"][i]), {name: data[name][i] for name in _MEASURE_NAMES})
        if dim == "all":
            total = row
        elif row.reports:
            groups[dim].append(row)
    groups["day"].sort(key=lambda r: r.key)
    for dim in ("platform", "network"):
        groups[dim].sort(key=lambda r: (-r.reports, r.key))
    groups["rung"].sort(key=_rung_order)
    return QoeReport(
        filters=filters,
        total=total,
        by_day=groups["day"],
        by_platform=groups["platform"],
        by_network=groups["network"],
        by_rung=groups["rung"],
    )


def qoe_window(start: datetime, end: datetime, *, platform: str = "", network: str = "") -> QoeRow:
    """The figures of [start, end) (alert thresholds look at the last window)."""
    filters = QoeFilters(
        first_day=start.date(), last_day=end.date(), platform=platform, network=network
    )
    table = engine.run_arrow(
        WINDOW_SQL, filters.params(start, end), days=(start.date() - timedelta(days=1), end.date())
    )
    data = table.to_pydict()
    return _row("", {name: (data[name][0] if data.get(name) else 0) for name in _MEASURE_NAMES})
