"""The event-log consumer: aggregates log entries into Postgres and the online features.

Exactly once, and why this way: each log entry (one accepted HTTP batch) is applied in one
transaction that first inserts `(stream, entry id)` into `AppliedEntry` with ON CONFLICT
DO NOTHING RETURNING, and then adds only the returned (new) entries' events to the
aggregates with additive upserts. The entry is acked in the log only after that commit.
So:

- a consumer that dies before committing leaves its entries pending; after
  `ANALYTICS_RECLAIM_IDLE_MS` another run takes them over (XAUTOCLAIM) and applies them;
- a consumer that dies after committing but before acking has its entries reclaimed too,
  but the insert returns nothing for them: they are acked and not counted again;
- two consumers racing on the same entry serialise on the unique key: one applies it, the
  other's insert returns nothing once the first commits;
- an entry that raises while being applied (a bug, a database error) is retried alone so
  that the rest of its chunk goes through; it stays pending, is reclaimed by later runs,
  and after `MAX_DELIVERIES` deliveries it is parked in the dead-letter stream and acked,
  so that one poison entry cannot stall the consumer.

Keying on the log entry rather than on each client event id keeps this one row per batch
(the client-id dedupe already happened at ingest). Applied-entry rows are pruned after
`APPLIED_ENTRY_RETENTION`; an entry pending for longer than that could apply twice, which
reclaiming after a minute makes moot in practice.

Online features (Redis) are written after the commit, only for newly applied entries; if
Redis fails then, those features miss the batch (they are approximate and expire anyway).

One module per step: `accumulate` (decoded batches folded into one chunk's deltas, in
memory), `upserts` (the additive upserts and the applied-entry record, both shared with
search's trending consumer as `additive_upsert` and `claim_entries`), `consumer`
(`entries_apply`, `events_consume`: reclaim, read, chunk, ack, dead-letter), `pruning`
(consumers and applied entries), `retention` (the per-second retention step with its own
exactly-once record, and its backfill from the log), `accounts` (a user's rows purged and
exported). This package re-exports the names callers use.
"""

from apps.analytics.services.accounts import analytics_export_user, analytics_purge_user
from apps.analytics.services.accumulate import RETENTION_STEPS, Aggregates, PostFacts, accumulate
from apps.analytics.services.consumer import (
    DEADLOCK_RETRIES,
    MAX_DELIVERIES,
    READ_CHUNK,
    ConsumeReport,
    EntriesApplier,
    entries_apply,
    events_consume,
)
from apps.analytics.services.pruning import (
    APPLIED_ENTRY_RETENTION,
    applied_entries_prune,
    consumers_prune,
)
from apps.analytics.services.retention import (
    RETENTION_MAX_SECONDS,
    BackfillReport,
    retention_backfill,
    seconds_apply,
)
from apps.analytics.services.upserts import (
    CREATOR_DAY_COLUMNS,
    POST_HOUR_COLUMNS,
    USER_POST_COLUMNS,
    Mode,
    additive_upsert,
    claim_entries,
)

__all__ = [
    "APPLIED_ENTRY_RETENTION",
    "CREATOR_DAY_COLUMNS",
    "DEADLOCK_RETRIES",
    "MAX_DELIVERIES",
    "POST_HOUR_COLUMNS",
    "READ_CHUNK",
    "RETENTION_MAX_SECONDS",
    "RETENTION_STEPS",
    "USER_POST_COLUMNS",
    "Aggregates",
    "BackfillReport",
    "ConsumeReport",
    "EntriesApplier",
    "Mode",
    "PostFacts",
    "accumulate",
    "additive_upsert",
    "analytics_export_user",
    "analytics_purge_user",
    "applied_entries_prune",
    "claim_entries",
    "consumers_prune",
    "entries_apply",
    "events_consume",
    "retention_backfill",
    "seconds_apply",
]
