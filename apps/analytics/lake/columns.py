"""The lake's row: every field of the event contract as a typed column, one row per event.

Columns (Arrow type → ClickHouse type):

- `event_id` (string → String): `<log entry id>/<index in the entry>`, unique per logged
  event; the dedupe key of compaction.
- `client_event_id` (string → String): the client's `id` (deduplicated per owner at ingest).
- `type` (string → String): one of `apps.events.schema.EVENT_TYPES` (`exposure` included).
- `ts` (timestamp[ms, UTC] → DateTime64(3, 'UTC')): the event's time, never after receipt.
- `received_at` (same types): when the server accepted the event's batch.
- `user_id` (int64 → Nullable(Int64)): the signed-in sender; NULL for a signed-out viewer.
- `session_id` (string → String): the client's session (a signed-out viewer's unit).
- `post_id` (int64 → Nullable(Int64)).
- `auth`, `app_version`, `user_agent` (string → Nullable(String)): the server's stamps.
- `device_id` (string → Nullable(String)): the sender's device id as the events API read it
  (`X-Device-Id` or the web's `swipeme_did` cookie, apps.events.devices; NULL when none was
  given or it was not acceptable): a signed-out visitor's unit in experiments. Files written
  before the column existed read it as NULL.
- one column per `data` key of `schema.DATA_FIELDS`, int64 → Nullable(Int64) for integers
  and ids, string → Nullable(String) for strings: `watched_ms`, `duration_ms`, `loops`,
  `position_ms`, `source`, `creator_id`, `ttff_ms`, `rebuffer_count`, `rebuffer_ms`,
  `bitrate_kbps`, `rendition_switches`, `error`, `network_type`, `search_id`, `query`,
  `tab`, `result_count`, `position`, `result_type`, `result_id`, `experiment`, `arm`.
- `data` (string → String): the event's whole `data` object as JSON.

The data columns are derived from `schema.DATA_FIELDS`, so a field added to the contract
gets its column in new files; older files read it as NULL (ClickHouse's Parquet reader fills
missing columns when the structure is given, as the engine gives it).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import pyarrow as pa

from apps.events import schema
from apps.events.log import LogEntry

TS_TYPE = pa.timestamp("ms", tz="UTC")

_BASE: tuple[tuple[str, pa.DataType, str], ...] = (
    ("event_id", pa.string(), "String"),
    ("client_event_id", pa.string(), "String"),
    ("type", pa.string(), "String"),
    ("ts", TS_TYPE, "DateTime64(3, 'UTC')"),
    ("received_at", TS_TYPE, "DateTime64(3, 'UTC')"),
    ("user_id", pa.int64(), "Nullable(Int64)"),
    ("session_id", pa.string(), "String"),
    ("post_id", pa.int64(), "Nullable(Int64)"),
    ("auth", pa.string(), "Nullable(String)"),
    ("app_version", pa.string(), "Nullable(String)"),
    ("user_agent", pa.string(), "Nullable(String)"),
    ("device_id", pa.string(), "Nullable(String)"),
)
_CLIENT_KEYS = {"auth": "auth", "app_version": "app_version", "user_agent": "ua",
                "device_id": "device_id"}


@dataclass(frozen=True)
class Column:
    name: str
    arrow: pa.DataType
    clickhouse: str
    pg: str  # the PostgreSQL type of the same column (the benchmark's table)


_PG = {"String": "text", "Nullable(String)": "text", "Nullable(Int64)": "bigint",
       "DateTime64(3, 'UTC')": "timestamptz"}


@cache
def data_columns() -> tuple[tuple[str, bool], ...]:
    """(name, is_integer) for every data key of the contract, sorted by name. A name used by
    two event types with different kinds would make one column wrong: refused."""
    kinds: dict[str, bool] = {}
    for fields in schema.DATA_FIELDS.values():
        for name, spec in fields.items():
            is_int = not isinstance(spec, schema.StrField)
            if kinds.setdefault(name, is_int) != is_int:
                raise ValueError(f"data field {name!r} is an integer in one event type and "
                                 "a string in another; the lake needs one type per name")
    return tuple(sorted(kinds.items()))


@cache
def columns() -> tuple[Column, ...]:
    cols = [Column(name, arrow, ch, _PG[ch]) for name, arrow, ch in _BASE]
    for name, is_int in data_columns():
        if is_int:
            cols.append(Column(name, pa.int64(), "Nullable(Int64)", "bigint"))
        else:
            cols.append(Column(name, pa.string(), "Nullable(String)", "text"))
    cols.append(Column("data", pa.string(), "String", "text"))
    return tuple(cols)


@cache
def arrow_schema() -> pa.Schema:
    return pa.schema([pa.field(c.name, c.arrow, nullable=True) for c in columns()])


@cache
def clickhouse_structure() -> str:
    """The `structure` argument of ClickHouse's file()/s3() table functions."""
    return ", ".join(f"{c.name} {c.clickhouse}" for c in columns())


def rows_from_entries(entries: Iterable[LogEntry]) -> dict[str, list[Any]]:
    """Decoded log entries as column lists (undecodable entries have no rows). Events are
    the contract's validated dicts; their time is clamped to receipt, as the aggregates do."""
    names = [c.name for c in columns()]
    out: dict[str, list[Any]] = {name: [] for name in names}
    data_names = [name for name, _ in data_columns()]
    for entry in entries:
        batch = entry.batch
        if batch is None:
            continue
        client = batch.client or {}
        for index, event in enumerate(batch.events):
            data = event.get("data") or {}
            out["event_id"].append(f"{entry.entry_id}/{index}")
            out["client_event_id"].append(str(event.get("id", "")))
            out["type"].append(str(event.get("type", "")))
            out["ts"].append(min(int(event["ts"]), batch.received_ms))
            out["received_at"].append(batch.received_ms)
            out["user_id"].append(batch.user_id)
            out["session_id"].append(str(event.get("session_id", "")))
            out["post_id"].append(_int_or_none(event.get("post_id")))
            for column, key in _CLIENT_KEYS.items():
                value = client.get(key)
                out[column].append(None if value is None else str(value))
            for name in data_names:
                value = data.get(name)
                out[name].append(value)
            out["data"].append(json.dumps(data, separators=(",", ":"), sort_keys=True))
    return out


def _int_or_none(value: object) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return None


def table_from_columns(values: Mapping[str, Sequence[Any]]) -> pa.Table:
    """Column lists as an Arrow table of the lake's schema (ints that are not ints, or
    strings that are not strings, become NULL rather than failing the whole flush)."""
    arrays = []
    for column in columns():
        raw = values[column.name]
        if pa.types.is_int64(column.arrow):
            raw = [_int_or_none(v) for v in raw]
        elif pa.types.is_string(column.arrow):
            raw = [None if v is None else v if isinstance(v, str) else str(v) for v in raw]
        arrays.append(pa.array(raw, type=column.arrow))
    return pa.Table.from_arrays(arrays, schema=arrow_schema())
