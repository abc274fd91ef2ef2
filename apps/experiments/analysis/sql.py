"""Metrics as SQL over the event lake: THE place a metric definition becomes a query.

One query per analysis computes, for every assigned unit and every day of the experiment
(and the pre-period, as day -1), one additive column per measure; analysis.compute adds the
days up to each look. Additive per day: counts and sums are; distinct values are counted per
day (a session spanning midnight counts twice) and retention is a count of events in the
unit's day-N window, turned into 0/1 afterwards. A quantile metric's measure (`values`) is
the unit-day's values as an array (quantiles do not add up: analysis.compute pools them).

A unit is `u:<user id>` for a signed-in sender's events. A signed-out visitor is
`d:<device id>` in assignments, and that id is one of two: the `swipeme_did` cookie or the
X-Device-Id header (apps.events.devices; the events API stamps it on every batch, the lake's
`device_id` column), or the For You session id for the feed's ranker flags and the ad load
(the `session_id` the client's events carry). So a visitor's event belongs to both
`d:<device_id>` (when the batch had one) and `d:<session_id>`: UNIT_SQL gives the event's
units as an array, joined row by row (`arrayJoin`), and the assignment picks the one it used.
Files written before the column read it NULL: their visitors match by session id only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from apps.analytics.lake import columns
from apps.events import schema
from apps.experiments.models.metrics import EVENT_COLUMNS, Aggregation, Measure, Source

DAY_MS = 86_400_000

# The event's units: ['u:<user id>'] for a signed-in sender, else d:<device_id> (when
# stamped) and d:<session_id>, once each; expanded with arrayJoin into one row per unit.
UNIT_SQL = (
    "arrayJoin(if(isNull(user_id), "
    "arrayDistinct(arrayConcat("
    "if(ifNull(device_id, '') = '', emptyArrayString(), [concat('d:', device_id)]), "
    "[concat('d:', session_id)])), "
    "[concat('u:', toString(user_id))]))"
)


class MetricSqlError(ValueError):
    """A measure the SQL builder cannot express (a definition that skipped validation)."""


@dataclass(frozen=True)
class MeasureQuery:
    sql: str
    params: dict[str, Any]
    names: list[str]  # the measure columns in order, m0, m1, ...


def _column(name: str) -> str:
    known = {c.name for c in columns.columns()}
    if name not in known or not name.isidentifier():
        raise MetricSqlError(f"no lake column {name!r}")
    return f"e.{name}"


def measure_expression(measure: Measure, index: int, params: dict[str, Any]) -> str:
    """The aggregate of one event measure over the joined rows `e` (events) and `a`
    (the unit's assignment)."""
    if measure.source != Source.EVENTS:
        raise MetricSqlError("table measures are not SQL over the lake")
    # "Any event" means the client's events: the server's own (an exposure, written when an
    # arm is used) would count as activity and as a session of its own.
    params["server_only"] = sorted(schema.SERVER_ONLY_TYPES)
    cond = "e.type NOT IN {server_only:Array(String)}"
    if measure.event_types:
        params[f"types{index}"] = list(measure.event_types)
        cond = f"e.type IN {{types{index}:Array(String)}}"
    agg = measure.aggregation
    if agg == Aggregation.COUNT:
        return f"toFloat64(countIf({cond}))"
    if agg == Aggregation.SUM:
        col = _column(measure.field)
        return f"toFloat64(sumIf(ifNull({col}, 0), {cond}))"
    if agg == Aggregation.VALUES:  # a quantile metric's raw values: an array per unit-day
        col = _column(measure.field)
        return f"groupArrayIf(toFloat64({col}), {cond} AND isNotNull({col}))"
    if agg == Aggregation.DISTINCT:
        col = _column(measure.field) if measure.field not in EVENT_COLUMNS else f"e.{measure.field}"
        return f"toFloat64(uniqExactIf({col}, {cond} AND isNotNull({col})))"
    if agg == Aggregation.WITH_FIELD:
        col = _column(measure.field)
        return f"toFloat64(countIf({cond} AND isNotNull({col}) AND toString({col}) != ''))"
    if agg == Aggregation.RETURNED:
        if measure.day is None:
            raise MetricSqlError("a retention measure needs its day")
        day = int(measure.day)
        return (
            f"toFloat64(countIf({cond} AND e.ts >= a.first_exposed + toIntervalDay({day}) "
            f"AND e.ts < a.first_exposed + toIntervalDay({day + 1})))"
        )
    raise MetricSqlError(f"unknown aggregation {agg!r}")


def measures_query(
    measures: list[Measure], *, start: datetime, end: datetime, pre_days: int
) -> MeasureQuery:
    """Per (unit, day) sums of every event measure. Days count from `start` (day 0); the
    pre-period [start - pre_days, start) is day -1; after start only events at or after the
    unit's first exposure count (before it the unit had not seen its arm)."""
    params: dict[str, Any] = {
        "start": start,
        "end": end,
        "pre_start": start - timedelta(days=pre_days),
        "start_ms": int(start.timestamp() * 1000),
    }
    exprs = [f"{measure_expression(m, i, params)} AS m{i}" for i, m in enumerate(measures)]
    fields = sorted({m.field for m in measures if m.field and m.field not in EVENT_COLUMNS})
    for name in fields:
        _column(name)  # only the lake's own column names reach the SQL text
    inner = ", ".join(["type", "ts", "session_id", "post_id", *fields])
    ts = "DateTime64(3, 'UTC')"
    # Identifiers are the lake's column names checked above; every value is a parameter.
    sql = f"""
SELECT a.unit AS unit,
       if(e.ts < {{start:{ts}}}, -1,
          toInt32(intDiv(toUnixTimestamp64Milli(e.ts) - {{start_ms:Int64}}, {DAY_MS}))) AS day,
       {", ".join(exprs) if exprs else "toFloat64(0) AS m_none"}
FROM (SELECT {UNIT_SQL} AS unit, {inner} FROM events
      WHERE ts >= {{pre_start:{ts}}} AND ts < {{end:{ts}}}) AS e
INNER JOIN assignments AS a ON e.unit = a.unit
WHERE e.ts < {{start:{ts}}} OR e.ts >= a.first_exposed
GROUP BY unit, day
"""  # noqa: S608
    return MeasureQuery(sql=sql, params=params, names=[f"m{i}" for i in range(len(measures))])
