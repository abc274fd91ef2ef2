"""The one SQL runner over the event lake: `run(sql, params, tables=...)`.

Backends, chosen by settings:

- **chdb** (default): ClickHouse in this process, reading the lake's Parquet files where
  they are (`file()` for the local directory, `s3()` for the bucket). Nothing to run.
- **a ClickHouse server** when `CLICKHOUSE_URL` is set (`http://user:pass@host:8123/db`,
  clickhouse-connect over HTTP). There `events` is a table or view of the server: a view
  over the same S3 files (`server_events_ddl()` gives its DDL), or a MergeTree table fed
  from Kafka (docs/architecture.md). Tested against a local stand-in of ClickHouse's HTTP
  interface whose SQL chdb executes (tests/analytics/lake/clickhouse_standin.py): the wire
  path is proven (clickhouse-connect's requests, parameters, external data, Arrow results,
  errors), not a real server's S3 access, authentication or version.

The view `events` has the lake's columns (`apps.analytics.lake.columns`: `event_id`,
`client_event_id`, `type`, `ts` and `received_at` (DateTime64(3, 'UTC')), `user_id`,
`session_id`, `post_id`, `auth`, `app_version`, `user_agent`, `device_id`, one Nullable
column per data field of the event contract (`watched_ms`, `duration_ms`, `source`,
`creator_id`, ...), and `data` (the data object as JSON)). Rows are at least once: an event
can appear twice in an hour not yet compacted (a flush that died between its write and its
ack); compaction keeps one row per `event_id`.

**The dialect: one SQL for both backends.**

1. ClickHouse SQL only (chdb is ClickHouse; the server must be 23.8 or later for Parquet
   over s3(), query parameters and the functions used here).
2. Values go in as query parameters, `{name:Type}` in the SQL and `params={"name": value}`,
   never formatted into the string. Python values are converted here: `datetime` (aware,
   any zone) → UTC `DateTime64(3)` text, lists → `Array(...)`, bool → 0/1.
3. Refer to the lake as `events` and to side tables by their names; no database
   qualifiers, no `file()`/`s3()` in callers' SQL, no DDL, no SETTINGS that one backend
   lacks, no session state between calls (each call stands alone).
4. Side tables (`tables={"assignments": pa.Table or {"col": [...]}}`) are small (up to a
   few million rows): a Parquet file the query joins in chdb, external data sent with the
   query to a server. Their column types come from Arrow (int64 → Int64, string → String,
   float64 → Float64, bool → Bool, timestamp → DateTime64(3, 'UTC')).
5. Name every selected expression with AS (`a.arm AS arm`): the result's column names are
   the expressions' text otherwise, and callers read `run_arrow` columns by name.
6. Results: `run` gives rows (tuples), `run_arrow` an Arrow table (columns as numpy
   arrays for statistics without a row-by-row loop).

Metrics are not defined here (apps.experiments' metrics module is the one place): this
module only runs their SQL.
"""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime
from typing import Any, TypeAlias

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings

from apps.analytics.lake import columns, storage

SideTable: TypeAlias = "pa.Table | Mapping[str, Sequence[Any]]"

_chdb_lock = threading.Lock()
_chdb_conn: Any = None


class EngineError(Exception):
    """The query failed (bad SQL, a missing parameter, the server unreachable)."""


def backend() -> str:
    """The backend: `clickhouse` when CLICKHOUSE_URL is set, else `chdb`."""
    return "clickhouse" if clickhouse_url() else "chdb"


def clickhouse_url() -> str:
    return str(getattr(settings, "CLICKHOUSE_URL", "") or "")


def run(sql: str, params: Mapping[str, Any] | None = None, *,
        tables: Mapping[str, SideTable] | None = None,
        days: tuple[date, date] | None = None) -> list[tuple[Any, ...]]:
    """Run one query over `events` (and the side tables); rows as tuples. `days` (first,
    last UTC day, inclusive) narrows what chdb opens to those days' files: a query whose
    WHERE bounds `ts` should pass it (a server prunes its own partitions and ignores it)."""
    table = run_arrow(sql, params, tables=tables, days=days)
    cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
    return list(zip(*cols, strict=True)) if cols else []


def run_arrow(sql: str, params: Mapping[str, Any] | None = None, *,
              tables: Mapping[str, SideTable] | None = None,
              days: tuple[date, date] | None = None) -> pa.Table:
    """Run one query over `events` (and the side tables); the result as an Arrow table.
    `days`: as `run`'s."""
    side = {name: _as_arrow(value) for name, value in (tables or {}).items()}
    for name in side:
        if not name.isidentifier() or name == "events":
            raise EngineError(f"bad side table name {name!r}")
    if backend() == "clickhouse":
        return _run_server(sql, dict(params or {}), side)
    return _run_chdb(sql, dict(params or {}), side, days)


# --- parameters and side tables -----------------------------------------------------------


def param_text(value: Any) -> str:
    """A parameter value in ClickHouse's text form (what `{name:Type}` parses)."""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise EngineError("naive datetime parameter: give it a time zone")
        return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_quoted(v) for v in value) + "]"
    return str(value)


def _quoted(value: Any) -> str:
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if isinstance(value, (datetime, date)):
        return "'" + param_text(value) + "'"
    return param_text(value)


def _as_arrow(value: SideTable) -> pa.Table:
    return value if isinstance(value, pa.Table) else pa.table(dict(value))


def clickhouse_type(arrow: pa.DataType) -> str:
    if pa.types.is_timestamp(arrow):
        return "DateTime64(3, 'UTC')"
    if pa.types.is_boolean(arrow):
        return "Bool"
    if pa.types.is_integer(arrow):
        return f"{'U' if pa.types.is_unsigned_integer(arrow) else ''}Int{arrow.bit_width}"
    if pa.types.is_floating(arrow):
        return "Float64"
    if pa.types.is_string(arrow) or pa.types.is_large_string(arrow):
        return "String"
    raise EngineError(f"unsupported side-table column type {arrow}")


def _structure(table: pa.Table) -> str:
    parts = []
    for field in table.schema:
        kind = clickhouse_type(field.type)
        if field.nullable and table.column(field.name).null_count:
            kind = f"Nullable({kind})"
        parts.append(f"{field.name} {kind}")
    return ", ".join(parts)


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


# --- chdb -----------------------------------------------------------------------------------


def events_source(days: tuple[date, date] | None = None) -> str:
    """The table function that reads the lake (chdb, or a server's view over S3)."""
    structure = _escape(columns.clickhouse_structure())
    location = _escape(storage.events_location(days))
    if storage.on_s3():
        key = os.environ.get("AWS_ACCESS_KEY_ID")
        secret = os.environ.get("AWS_SECRET_ACCESS_KEY")
        auth = f", '{_escape(key)}', '{_escape(secret)}'" if key and secret else ", NOSIGN"
        return f"s3('{location}'{auth}, 'Parquet', '{structure}')"
    return f"file('{location}', 'Parquet', '{structure}')"


def files_with_user(user_id: int) -> list[str]:
    """The lake files (paths as chdb reports them: absolute, or `bucket/key`) holding a row
    of the user. Lake maintenance, not analysis: always chdb over the files themselves,
    whatever CLICKHOUSE_URL says."""
    sql = (f"SELECT DISTINCT _path AS path FROM {events_source()} "  # noqa: S608
           "WHERE user_id = {user:Int64}")
    table = _run_chdb(sql, {"user": user_id}, {}, None)
    return [str(path) for path in table.column("path").to_pylist()] if table.num_rows else []


def server_events_ddl() -> str:
    """The DDL of `events` on a ClickHouse server reading the lake's S3 files."""
    return f"CREATE VIEW IF NOT EXISTS events AS SELECT * FROM {events_source()}"  # noqa: S608


def _connection() -> Any:
    global _chdb_conn
    if _chdb_conn is None:
        import chdb

        _chdb_conn = chdb.connect(":memory:")  # type: ignore[no-untyped-call]
    return _chdb_conn


def _run_chdb(sql: str, params: dict[str, Any], side: dict[str, pa.Table],
              days: tuple[date, date] | None) -> pa.Table:
    texts = {name: param_text(value) for name, value in params.items()}
    with _chdb_lock, tempfile.TemporaryDirectory(prefix="lake-side-") as tmp:
        conn = _connection()
        try:
            # chdb keeps one engine per process: the views are redefined for each call, so
            # a call sees the storage settings of its moment and no earlier side table.
            # the sources are ours (settings, a temporary file), quoted by _escape
            conn.query(f"CREATE OR REPLACE VIEW events AS SELECT * FROM {events_source(days)}")  # noqa: S608
            for name, table in side.items():
                path = os.path.join(tmp, f"{name}.parquet")
                pq.write_table(table, path)
                structure = _escape(_structure(table))
                conn.query(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "  # noqa: S608
                           f"file('{_escape(path)}', 'Parquet', '{structure}')")
            result = conn.query(sql, "ArrowTable", params=texts)
        except Exception as exc:  # chdb raises its own error and RuntimeError
            raise EngineError(str(exc)) from exc
        finally:
            for name in side:
                with contextlib.suppress(Exception):  # the next call replaces it anyway
                    conn.query(f"DROP VIEW IF EXISTS {name}")
    return result if isinstance(result, pa.Table) else pa.table({})


# --- a ClickHouse server ---------------------------------------------------------------------


def server_client() -> Any:
    import clickhouse_connect

    return clickhouse_connect.get_client(dsn=clickhouse_url())


def _run_server(sql: str, params: dict[str, Any], side: dict[str, pa.Table]) -> pa.Table:
    from clickhouse_connect.driver.external import ExternalData

    external = None
    for name, table in side.items():
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        if external is None:
            external = ExternalData(file_name=f"{name}.parquet", data=buffer.getvalue(),
                                    fmt="Parquet", structure=_structure(table))
        else:
            external.add_file(file_name=f"{name}.parquet", data=buffer.getvalue(),
                              fmt="Parquet", structure=_structure(table))
    try:
        client = server_client()
        try:
            return client.query_arrow(sql, parameters=params, external_data=external)
        finally:
            client.close()
    except Exception as exc:  # clickhouse-connect's errors, connection errors
        raise EngineError(str(exc)) from exc
