"""The drain, the rebuild and the first-start rebuild. One index writer at a time: every
write to the backend happens under one PostgreSQL advisory lock (a drain takes it per batch,
with its transaction; a rebuild for its whole run, with its session), so a drain never
interleaves with a rebuild and the single-writer engines never see two writers. A process
killed while holding it releases it with its connection."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime

from django.conf import settings
from django.db import connection, transaction

from apps.search.engine import get_backend
from apps.search.engine.base import KINDS, Kind, SearchBackend, SearchDoc
from apps.search.indexing.documents import candidate_count, documents_for, stream_documents
from apps.search.models import IndexOutbox

logger = logging.getLogger(__name__)

# pg advisory lock key of the index writer ("search" in ASCII, as a bigint)
WRITER_LOCK = 0x736561726368
DRAIN_MAX_BATCHES = 200  # then the task returns; the next trigger or beat run goes on
REBUILD_BATCH = 1000


def _try_lock(sql: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(sql, [WRITER_LOCK])
        row = cursor.fetchone()
    return bool(row and row[0])


def drain(*, batch_size: int | None = None, max_batches: int = DRAIN_MAX_BATCHES) -> int:
    """Apply waiting outbox rows to the index, oldest first. Each batch is one transaction:
    claim rows (`SKIP LOCKED`), read the objects' current state, `backend.apply`, delete the
    claimed rows; a drain killed anywhere before its commit leaves its rows for the next
    one (applying a batch twice is harmless: upserts replace, deletes of absent ids are
    no-ops). Returns how many rows were drained; 0 when another writer holds the lock
    (it, or the next trigger, drains them)."""
    backend = get_backend()
    batch_size = batch_size or settings.SWIPEME_SEARCH_DRAIN_BATCH
    drained = 0
    for _ in range(max_batches):
        with transaction.atomic():
            if not _try_lock("SELECT pg_try_advisory_xact_lock(%s)"):
                return drained
            rows = list(IndexOutbox.objects.select_for_update(skip_locked=True)
                        .order_by("id").values_list("id", "kind", "object_id")[:batch_size])
            if not rows:
                return drained
            wanted: dict[Kind, dict[int, None]] = {}
            for _, kind, object_id in rows:
                if kind in KINDS:
                    wanted.setdefault(kind, {})[object_id] = None  # type: ignore[index]
                else:
                    logger.error("index outbox row of unknown kind %r dropped", kind)
            upserts: list[SearchDoc] = []
            deletes: list[tuple[Kind, int]] = []
            for kind, ids in wanted.items():
                docs, gone = documents_for(kind, list(ids))
                upserts += docs
                deletes += [(kind, pk) for pk in gone]
            backend.apply(upserts=upserts, deletes=deletes)
            IndexOutbox.objects.filter(pk__in=[row_id for row_id, _, _ in rows]).delete()
        drained += len(rows)
        if len(rows) < batch_size:
            break
    if drained:
        logger.info("search.index_drained", extra={"rows": drained})
    return drained


@contextmanager
def _writer_session_lock(*, wait: bool) -> Iterator[bool]:
    """The writer lock for as long as the block runs (outside any transaction: a rebuild
    commits as it goes). Yields False when `wait` is off and another writer has it."""
    if wait:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_lock(%s)", [WRITER_LOCK])
        got = True
    else:
        got = _try_lock("SELECT pg_try_advisory_lock(%s)")
    try:
        yield got
    finally:
        if got:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [WRITER_LOCK])


def _progress_line(kind: Kind, done: int, total: int, started: float) -> str:
    elapsed = max(time.monotonic() - started, 1e-6)
    share = f" ({100 * done / total:.1f} %)" if total else ""
    return f"{kind}: {done:,}/{total:,}{share}, {done / elapsed:,.0f} docs/s"


def rebuild(*, kinds: Sequence[Kind] = KINDS, batch_size: int = REBUILD_BATCH,
            progress: Callable[[str], None] | None = None, wait: bool = True,
            only_if_unbuilt: bool = False) -> dict[Kind, int] | None:
    """Build the index from PostgreSQL. All kinds: clear, stream every candidate in
    batches, `mark_built`. Some kinds: upsert their candidates again, then delete the
    documents of those kinds that are no longer candidates (rows gone or no longer
    findable; the index keeps answering meanwhile, no per-kind clear). Changes committed
    meanwhile wait in the outbox (drains skip while
    this holds the writer lock) and are applied after. Returns the count per kind, or None
    when it did not run (`wait` off and another writer busy, or `only_if_unbuilt` and the
    index is built, checked under the lock so two first starts rebuild once)."""
    say = progress or (lambda line: logger.info("search.rebuild %s", line))
    full = set(kinds) == set(KINDS)
    with _writer_session_lock(wait=wait) as got:
        if not got:
            return None
        backend = get_backend()
        if only_if_unbuilt and backend.is_built():
            return None
        if full:
            backend.clear()
        counts: dict[Kind, int] = {}
        for kind in kinds:
            total, done, started = candidate_count(kind), 0, time.monotonic()
            say(_progress_line(kind, 0, total, started))
            seen: set[int] = set()
            for docs in stream_documents(kind, batch_size=batch_size):
                backend.apply(upserts=docs)
                done += len(docs)
                if not full:
                    seen.update(doc.id for doc in docs)
                say(_progress_line(kind, done, max(total, done), started))
            counts[kind] = done
            if not full:
                _delete_stale(backend, kind, seen, batch_size, say)
        if full:
            backend.mark_built()
        say("done: " + ", ".join(f"{kind} {count:,}" for kind, count in counts.items()))
    return counts


def _delete_stale(backend: SearchBackend, kind: Kind, seen: set[int], batch_size: int,
                  say: Callable[[str], None]) -> None:
    """Delete the documents of `kind` the rebuild did not write (no drain interleaves: the
    writer lock is held, so the index holds nothing newer than what was streamed)."""
    stale = sorted(backend.ids(kind) - seen)
    for start in range(0, len(stale), batch_size):
        backend.apply(deletes=[(kind, pk) for pk in stale[start:start + batch_size]])
    say(f"stale {kind} documents removed: {len(stale):,}")


def ensure_built() -> bool:
    """First start (or after an interrupted rebuild): rebuild when the backend says it was
    never completely built. True when this call rebuilt it."""
    if get_backend().is_built():
        return False
    return rebuild(wait=False, only_if_unbuilt=True) is not None


def outbox_backlog(cutoff: datetime) -> tuple[str, int]:
    """For /readyz (apps.core.health.backlog_checks): changes recorded before `cutoff` and
    not in the index yet (the drain runs on every commit and every few seconds)."""
    return "search_index_outbox", IndexOutbox.objects.filter(created_at__lt=cutoff).count()
