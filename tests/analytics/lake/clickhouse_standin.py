"""A local stand-in for a ClickHouse server's HTTP interface, backed by chdb (ClickHouse's
own engine, in this process) executing the SQL.

No ClickHouse server is installable here (Debian's is too old for the lake's SQL), so the
engine's server path (CLICKHOUSE_URL, clickhouse-connect over HTTP) is tested against this:
a real HTTP server speaking the parts of the protocol clickhouse-connect uses, with the
query executed by the same ClickHouse code a server runs. What it implements:

- `GET /ping` and `GET /` ("Ok.").
- `POST /` and `GET /` with the query in the `query` argument, in the body, or both (the
  body appended to the argument, as the server does); or as multipart/form-data fields
  (`query`, `param_*`) with external-data files.
- `param_<name>=<value>` query parameters bound to `{name:Type}` placeholders (by chdb's
  own parameter binding, i.e. the server's).
- `database=<name>`: the query runs with that current database (created if absent only
  when it is `default`; any other unknown database is the server's error 81).
- external data: multipart file parts named after a table, with `<name>_structure` (or
  `<name>_types`) and `<name>_format` arguments; the table exists for that query only.
- the output format named by the query's `FORMAT` clause (clickhouse-connect appends
  `FORMAT Native`, `FORMAT Arrow`, `FORMAT JSON`, ...), else `default_format`, else
  TabSeparated; the bytes are chdb's, i.e. the server's own writers.
- settings: every other argument must be a ClickHouse setting (checked against
  `system.settings`, unknown ones refused with error 115 as the server does; the HTTP
  interface's own arguments such as `session_id`, `query_id`, `compress`,
  `enable_http_compression`, `client_protocol_version` are accepted). Settings are checked,
  not applied: results here do not depend on them.
- errors: HTTP 500 (400 for a syntax error, 404 for an unknown database or table) with
  `X-ClickHouse-Exception-Code` and the exception text as the body; the `X-ClickHouse-*`
  response headers (`Query-Id`, `Format`, `Timezone`, `Summary`, `Server-Display-Name`).

What it does not do: authentication (credentials are accepted and ignored), TLS, response
compression (answers are plain; clickhouse-connect accepts that), sessions (each request
stands alone, as the lake engine's calls do), progress headers, and a real server's file,
S3 and storage configuration. Run: `python -m tests.analytics.lake.clickhouse_standin`; it
prints `port <n>` on its first line once it listens.
"""

from __future__ import annotations

import contextlib
import email.parser
import email.policy
import json
import os
import re
import select
import subprocess
import sys
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import chdb

# arguments of the HTTP interface itself, not settings
HTTP_ARGS = frozenset(
    {
        "query",
        "database",
        "default_format",
        "query_id",
        "session_id",
        "session_timeout",
        "session_check",
        "compress",
        "decompress",
        "user",
        "password",
        "quota_key",
        "client_protocol_version",
        "buffer_size",
        "wait_end_of_query",
    }
)
_FORMAT = re.compile(r"\bFORMAT\s+([A-Za-z0-9_]+)\s*;?\s*\Z", re.IGNORECASE)
_CODE = re.compile(r"Code:\s*(\d+)")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class QueryError(Exception):
    def __init__(self, code: int, message: str, status: int = 500) -> None:
        super().__init__(message)
        self.code = code
        self.status = status


class Engine:
    """One chdb session serving the requests one at a time (the stand-in's whole state)."""

    def __init__(self) -> None:
        self.conn = chdb.connect(":memory:")
        self.lock = threading.Lock()
        self.settings = {str(name) for (name,) in self._rows("SELECT name FROM system.settings")}
        self.timezone = self._rows("SELECT timezone()")[0][0]
        self.version = self._rows("SELECT version()")[0][0]

    def _rows(self, sql: str) -> list[tuple[Any, ...]]:
        table = self.conn.query(sql, "ArrowTable")
        cols = [table.column(i).to_pylist() for i in range(table.num_columns)]
        return list(zip(*cols, strict=True))

    def execute(
        self,
        query: str,
        args: dict[str, str],
        files: dict[str, bytes],
    ) -> tuple[bytes, str]:
        params = {k[len("param_") :]: v for k, v in args.items() if k.startswith("param_")}
        external = {
            name: data
            for name, data in files.items()
            if f"{name}_structure" in args or f"{name}_types" in args
        }
        for name in external:
            if not _IDENT.fullmatch(name):
                raise QueryError(36, f"Bad external table name {name!r}", 400)
        ext_args = {
            f"{name}_{part}" for name in external for part in ("structure", "types", "format")
        }
        for key in args:
            if key in HTTP_ARGS or key.startswith("param_") or key in ext_args:
                continue
            if key not in self.settings:
                raise QueryError(
                    115,
                    f"Setting {key} is neither a builtin setting nor started "
                    "with the prefix 'custom_' registered for user-defined "
                    "settings. (UNKNOWN_SETTING)",
                    404,
                )
        match = _FORMAT.search(query)
        fmt = match.group(1) if match else args.get("default_format", "TabSeparated")
        database = args.get("database", "default")
        if not _IDENT.fullmatch(database):
            raise QueryError(81, f"Database {database} does not exist. (UNKNOWN_DATABASE)", 404)
        with self.lock, tempfile.TemporaryDirectory(prefix="standin-") as tmp:
            created: list[str] = []
            try:
                exists = self._rows(
                    f"SELECT count() FROM system.databases WHERE name = '{database}'"
                )[0][0]
                if not exists:
                    raise QueryError(
                        81, f"Database {database} does not exist. (UNKNOWN_DATABASE)", 404
                    )
                self.conn.query(f"USE {database}")
                for name, data in external.items():
                    structure = args.get(f"{name}_structure")
                    if structure is None:
                        types = args[f"{name}_types"].split(",")
                        structure = ", ".join(f"_{i + 1} {t}" for i, t in enumerate(types))
                    path = os.path.join(tmp, name)
                    with open(path, "wb") as handle:
                        handle.write(data)
                    ext_fmt = args.get(f"{name}_format", "TabSeparated")
                    if not _IDENT.fullmatch(ext_fmt):
                        raise QueryError(73, f"Unknown format {ext_fmt}", 400)
                    quoted = structure.replace("\\", "\\\\").replace("'", "\\'")
                    # a temporary table of the query in the server: a view dropped after it
                    self.conn.query(
                        f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM "
                        f"file('{path}', '{ext_fmt}', '{quoted}')"
                    )
                    created.append(name)
                result = self.conn.query(query, fmt, params=params)
                return result.bytes(), fmt
            except QueryError:
                raise
            except Exception as exc:  # chdb's errors carry the server's code and text
                text = str(exc)
                found = _CODE.search(text)
                code = int(found.group(1)) if found else 1001
                status = 400 if code == 62 else 404 if code in (60, 81) else 500
                raise QueryError(code, text, status) from exc
            finally:
                for name in created:
                    with contextlib.suppress(Exception):
                        self.conn.query(f"DROP VIEW IF EXISTS {name}")
                with contextlib.suppress(Exception):
                    self.conn.query("USE default")


ENGINE: Engine | None = None
REQUESTS: list[dict[str, Any]] = []  # what was asked (for the tests' own checks, via /_log)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._handle(b"")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self._handle(self.rfile.read(length) if length else b"")

    def _handle(self, body: bytes) -> None:
        assert ENGINE is not None
        url = urlsplit(self.path)
        if url.path in ("/ping", "/") and self.command == "GET" and not url.query:
            self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            return
        if url.path == "/_log":
            self._send(200, json.dumps(REQUESTS).encode(), {"Content-Type": "application/json"})
            return
        args = dict(parse_qsl(url.query, keep_blank_values=True))
        files: dict[str, bytes] = {}
        ctype = self.headers.get("Content-Type", "")
        query = args.get("query", "")
        if ctype.startswith("multipart/form-data"):
            message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
                b"Content-Type: " + ctype.encode() + b"\r\n\r\n" + body
            )
            for part in message.iter_parts():
                name = part.get_param("name", header="content-disposition")
                payload = part.get_payload(decode=True)
                data = payload if isinstance(payload, bytes) else b""
                if not isinstance(name, str):
                    continue
                if part.get_filename() is None and (name == "query" or name.startswith("param_")):
                    args[name] = data.decode()
                    if name == "query":
                        query = args["query"]
                else:
                    files[name] = data
        elif body:
            # the body continues the query (an INSERT's data, or the whole query)
            query = f"{query}\n{body.decode()}" if query else body.decode()
        query_id = args.get("query_id") or str(uuid.uuid4())
        REQUESTS.append(
            {
                "method": self.command,
                "args": sorted(args),
                "files": sorted(files),
                "query": query[:2000],
                "auth": bool(self.headers.get("Authorization")),
            }
        )
        headers = {
            "X-ClickHouse-Query-Id": query_id,
            "X-ClickHouse-Timezone": str(ENGINE.timezone),
            "X-ClickHouse-Server-Display-Name": "chdb-standin",
        }
        try:
            if not query.strip():
                raise QueryError(62, "Empty query. (SYNTAX_ERROR)", 400)
            data, fmt = ENGINE.execute(query, args, files)
        except QueryError as exc:
            headers["X-ClickHouse-Exception-Code"] = str(exc.code)
            text = str(exc) if str(exc).startswith("Code:") else f"Code: {exc.code}. {exc}"
            self._send(
                exc.status,
                f"{text}\n".encode(),
                {**headers, "Content-Type": "text/plain; charset=UTF-8"},
            )
            return
        headers["X-ClickHouse-Format"] = fmt
        headers["X-ClickHouse-Summary"] = json.dumps(
            {
                "read_rows": "0",
                "read_bytes": "0",
                "written_rows": "0",
                "written_bytes": "0",
                "total_rows_to_read": "0",
                "result_rows": "0",
                "result_bytes": str(len(data)),
            }
        )
        self._send(200, data, {**headers, "Content-Type": "application/octet-stream"})


def start(timeout: float = 60.0) -> tuple[subprocess.Popen[str], int]:
    """Start the stand-in in its own process (its own chdb, as a server has its own engine);
    returns the process and its port once it listens."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.analytics.lake.clickhouse_standin"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(__file__)))),
    )
    assert proc.stdout is not None
    ready = select.select([proc.stdout], [], [], timeout)[0]
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("port "):
        proc.kill()
        raise RuntimeError(f"the ClickHouse stand-in did not start: {line!r}")
    return proc, int(line.split()[1])


def main() -> None:
    global ENGINE
    ENGINE = Engine()
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    sys.stdout.write(f"port {server.server_address[1]}\n")
    sys.stdout.flush()
    server.serve_forever()


if __name__ == "__main__":
    main()
