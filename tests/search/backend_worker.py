"""Another process using a search backend (the contract suite's second web worker or
second writer): `python -m tests.search.backend_worker <backend> <index dir> <op> <json>`.

ops: `search` {"kind", "query", "prefix"} prints the hit ids as JSON; `serve` {} opens the
backend, prints "ready", then answers each `search` JSON line read from stdin with a line of
hit ids (a running web worker, one process start for several searches); `write` {"start",
"batches", "size"} applies `batches` batches of `size` videos with ids from `start`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import django


def main(argv: list[str]) -> None:
    django.setup()
    from apps.search.engine.base import SearchBackend, SearchDoc
    from apps.search.engine.postgres_backend import PostgresBackend
    from apps.search.engine.tantivy_backend import TantivyBackend

    name, path, op, raw = argv
    args = json.loads(raw)
    backend: SearchBackend = TantivyBackend(Path(path)) if name == "tantivy" else PostgresBackend()
    if op == "search":
        hits = backend.search(args["kind"], args["query"], limit=50, prefix=args["prefix"])
        sys.stdout.write(json.dumps([h.id for h in hits]) + "\n")
    elif op == "serve":
        backend.count("video")  # opened now, before the parent's writes
        sys.stdout.write(json.dumps("ready") + "\n")
        sys.stdout.flush()
        for line in sys.stdin:
            query = json.loads(line)
            hits = backend.search(query["kind"], query["query"], limit=50,
                                  prefix=query["prefix"])
            sys.stdout.write(json.dumps([h.id for h in hits]) + "\n")
            sys.stdout.flush()
    elif op == "write":
        start, size = args["start"], args["size"]
        for batch in range(args["batches"]):
            first = start + batch * size
            backend.apply(upserts=[
                SearchDoc("video", i, {"caption": f"concurrent writer clip{i} marker"})
                for i in range(first, first + size)])
        sys.stdout.write(json.dumps("ok") + "\n")


if __name__ == "__main__":
    main(sys.argv[1:])
