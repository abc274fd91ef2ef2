"""Writing a chunk's deltas: additive upserts (each column combined by its mode) and the
applied-entry record that makes applying an entry exactly once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from django.db import connection
from django.utils import timezone

from apps.analytics.services.accumulate import Aggregates

Mode = Literal["add", "max", "or", "array_add"]
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
    "completions", "likes", "comments", "shares", "followers_gained", "followers_lost",
    "views_for_you", "views_following", "views_profile", "views_search", "views_share",
    "views_sound", "views_hashtag", "views_other"), "add")
_DEFAULTS: dict[Mode, Any] = {"add": 0, "max": 0.0, "or": False}
_ROWS_PER_STATEMENT = 500


def _set_clause(column: str, mode: Mode) -> str:
    if mode == "add":
        return f"{column} = t.{column} + EXCLUDED.{column}"
    if mode == "max":
        return f"{column} = GREATEST(t.{column}, EXCLUDED.{column})"
    if mode == "or":
        return f"{column} = t.{column} OR EXCLUDED.{column}"
    # unnest pads the shorter array with NULLs: arrays of different lengths (per-second
    # retention) add as if the shorter one went on with zeros
    return (f"{column} = ARRAY(SELECT COALESCE(x.a, 0) + COALESCE(x.b, 0) FROM "  # noqa: S608
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
