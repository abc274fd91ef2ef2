"""Writing events straight into the event lake's Parquet layout (the columns the consumer
writes), at chosen times: experiments' analyses need events days apart."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

import pyarrow as pa

from apps.analytics.lake import columns, storage

_seq = [0]


def lake_event(
    kind: str, at: datetime, *, user_id: int | None = None, session_id: str = "s", **data: Any
) -> dict[str, Any]:
    _seq[0] += 1
    return {
        "event_id": f"t-{_seq[0]}",
        "client_event_id": f"c-{_seq[0]}",
        "type": kind,
        "ts": at,
        "received_at": at,
        "user_id": user_id,
        "session_id": session_id,
        "post_id": None,
        **data,
    }


def write_events(events: list[dict[str, Any]]) -> None:
    """One file per UTC hour partition, as a flush writes them."""
    by_partition: dict[storage.Partition, list[dict[str, Any]]] = defaultdict(list)
    for ev in events:
        by_partition[storage.Partition.of_ms(int(ev["ts"].timestamp() * 1000))].append(ev)
    schema = columns.arrow_schema()
    lake = storage.lake_storage()
    for partition, rows in by_partition.items():
        table = pa.table(
            {
                f.name: [r.get(f.name, "{}" if f.name == "data" else None) for r in rows]
                for f in schema
            },
            schema=schema,
        )
        storage.write_table(lake, storage.new_name(partition, "part"), table)
