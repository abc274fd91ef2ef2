"""Public ids: 64-bit, time-ordered, unguessable in count.

Layout (Instagram-style, generated inside PostgreSQL so every writer agrees):
41 bits of milliseconds since SWIPEME_EPOCH | 10 bits of shard | 13 bits of a sequence.
The database function `swipeme_next_id()` (created by core's first migration) is every
model's primary-key default, so ids sort by creation time and reveal no row counts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db import models
from django.db.models.expressions import Func

from apps.core.errors import NotFoundError

SWIPEME_EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
SHARD_BITS = 10
SEQUENCE_BITS = 13
# The largest id (and the largest value a bigint column takes): ids above it are garbage.
MAX_ID = 2**63 - 1

NEXT_ID_SQL = f"""
CREATE SEQUENCE IF NOT EXISTS swipeme_id_seq;
CREATE OR REPLACE FUNCTION swipeme_next_id(shard integer DEFAULT 0) RETURNS bigint AS $$
DECLARE
    seq bigint;
    now_ms bigint;
BEGIN
    SELECT nextval('swipeme_id_seq') % {1 << SEQUENCE_BITS} INTO seq;
    SELECT FLOOR(EXTRACT(EPOCH FROM clock_timestamp()) * 1000) INTO now_ms;
    RETURN ((now_ms - {SWIPEME_EPOCH_MS}) << {SHARD_BITS + SEQUENCE_BITS})
         | ((shard % {1 << SHARD_BITS}) << {SEQUENCE_BITS})
         | seq;
END;
$$ LANGUAGE plpgsql VOLATILE;
"""  # noqa: S608 - built from module constants only
DROP_NEXT_ID_SQL = (
    "DROP FUNCTION IF EXISTS swipeme_next_id(integer); DROP SEQUENCE IF EXISTS swipeme_id_seq;"
)


class NextId(Func):
    function = "swipeme_next_id"
    output_field = models.BigIntegerField()
    arity = 0


def id_created_at(value: int) -> datetime:
    """When an id was minted (to the millisecond)."""
    ms = (value >> (SHARD_BITS + SEQUENCE_BITS)) + SWIPEME_EPOCH_MS
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def id_floor_for(moment: datetime) -> int:
    """The smallest id minted at or after `moment`: lets a time range become an id range."""
    ms = int(moment.timestamp() * 1000) - SWIPEME_EPOCH_MS
    return max(ms, 0) << (SHARD_BITS + SEQUENCE_BITS)


def parse_id(raw: object) -> int | None:
    """An id from a URL, a query string or a JSON body (a string of digits or an int), or
    None when it is not one. Never more than a bigint holds, so a lookup with it is never a
    database error."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int):
        value = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 19:
        value = int(raw)
    else:
        return None
    return value if 0 < value <= MAX_ID else None


def id_or_404(raw: object, message: str = "Not found.") -> int:
    """`parse_id`, or a 404 with `message`: an id that cannot exist names nothing."""
    value = parse_id(raw)
    if value is None:
        raise NotFoundError(message)
    return value


def snowflake_pk() -> models.BigIntegerField[int, int]:
    return models.BigIntegerField(primary_key=True, db_default=NextId(), editable=False)


def allocate_ids(count: int) -> list[int]:
    """Mint `count` ids in one round trip. bulk_create cannot read back a db_default
    primary key, so callers that bulk-insert assign these first."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT swipeme_next_id() FROM generate_series(1, %s)", [count])
        return [row[0] for row in cursor.fetchall()]
