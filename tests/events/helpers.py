"""Building client events and reading the event log back in tests."""

from __future__ import annotations

import itertools
import time
from typing import Any

from apps.events.log import LoggedBatch, RedisStreamEventLog

URL = "/api/v1/events"
_ids = itertools.count(1)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def event(type_: str = "impression", *, post_id: int | str | None = None, id_: str | None = None,
          session_id: str = "sess-1", ts: int | None = None, **data: Any) -> dict[str, Any]:
    return {
        "id": id_ or f"ev-{next(_ids)}",
        "type": type_,
        "ts": ts if ts is not None else now_ms(),
        "session_id": session_id,
        "post_id": str(post_id) if post_id is not None else None,
        "data": data,
    }


def logged_batches() -> list[LoggedBatch]:
    log = RedisStreamEventLog()
    entries: Any = log.client.xrange(log.stream)
    return [LoggedBatch.from_json(fields["b"]) for _id, fields in entries]


def logged_events() -> list[dict[str, Any]]:
    return [e for batch in logged_batches() for e in batch.events]
