"""The auction log: every auction's record (inputs and outcome, `auction.AuctionRecord`)
in a capped Redis list, for offline replay (`manage.py ads_replay_auctions`).

Records are buffered per process. The ad filler takes the buffer (`due()`: `FLUSH_EVERY`
records or `FLUSH_SECONDS` old) into the same round trip as its page's pacing and cap
reads, or its winner's commit when the page reads nothing (`push_in`), so the feed's path
never waits for the log; without serving pages (a
batch job, a quiet process) `log()` pushes itself past 4 x FLUSH_EVERY or 2 x
FLUSH_SECONDS. Without Redis the buffer is dropped (logged): the served ads' tokens and
measurement's events stay the record of what was charged; this log is for analysis and
audits of the maths."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

import redis

from . import auction
from .redis_client import client

logger = logging.getLogger(__name__)

KEY = "ads:auctions"
KEEP = 100_000
FLUSH_EVERY = 50
FLUSH_SECONDS = 2.0

_lock = threading.Lock()
_buffer: list[str] = []
_flushed_at = time.monotonic()


# Each candidate's JSON, made once per candidate object: serving reuses its candidates for
# a whole inventory snapshot, and dumping ~100 candidate dicts was a page's largest piece
# of Python after the Redis calls. Keyed by id() with the object kept (so an id is never
# reused while its entry lives); emptied past FRAGMENTS_KEEP entries.
FRAGMENTS_KEEP = 20_000
_fragments: dict[int, tuple[auction.Candidate, str]] = {}


def _candidate_json(candidate: auction.Candidate) -> str:
    hit = _fragments.get(id(candidate))
    if hit is not None and hit[0] is candidate:
        return hit[1]
    text = json.dumps(candidate.__dict__, separators=(",", ":"))
    if len(_fragments) >= FRAGMENTS_KEEP:
        _fragments.clear()
    _fragments[id(candidate)] = (candidate, text)
    return text


def log_auction(
    candidates: list[auction.Candidate],
    outcome: auction.Outcome,
    *,
    auction_id: str,
    reserve_cpm_micros: int,
    context: dict[str, Any],
) -> None:
    """`log(auction.record(...))` for one slot, with the candidates' JSON reused: the same
    line content (`read()` gives the same record)."""
    rest = json.dumps(
        {
            "auction_id": auction_id,
            "reserve_cpm_micros": reserve_cpm_micros,
            "slots": 1,
            "outcome": auction.outcome_to_dict(outcome),
            "version": auction.ALGORITHM_VERSION,
            "context": context,
        },
        separators=(",", ":"),
    )
    cands = ",".join(_candidate_json(c) for c in candidates)
    _append(f'{{"candidates":[{cands}],{rest[1:]}')


def log(record: auction.AuctionRecord) -> None:
    _append(json.dumps(record.to_dict(), separators=(",", ":")))


def _append(line: str) -> None:
    global _flushed_at
    with _lock:
        _buffer.append(line)
        due = len(_buffer) >= 4 * FLUSH_EVERY or time.monotonic() - _flushed_at >= 2 * FLUSH_SECONDS
        if not due:
            return
        batch = list(_buffer)
        _buffer.clear()
        _flushed_at = time.monotonic()
    _push(batch)


def due() -> list[str]:
    """The buffered records when a push is due (else []): the caller pushes them with
    `push_in` in a pipeline it executes anyway."""
    global _flushed_at
    with _lock:
        if not _buffer or (
            len(_buffer) < FLUSH_EVERY and time.monotonic() - _flushed_at < FLUSH_SECONDS
        ):
            return []
        batch = list(_buffer)
        _buffer.clear()
        _flushed_at = time.monotonic()
    return batch


def push_in(pipe: Any, batch: list[str]) -> int:
    """Queue the push of `batch` on a pipeline (nothing for an empty batch); how many
    commands were queued."""
    if batch:
        pipe.rpush(KEY, *batch)
        pipe.ltrim(KEY, -KEEP, -1)
        return 2
    return 0


def dropped(batch: list[str], exc: Exception) -> None:
    """A batch taken by `due()` whose pipeline failed: said, as `_push` says it."""
    if batch:
        logger.warning("auction log: %d records dropped (%s)", len(batch), exc)


def flush() -> None:
    global _flushed_at
    with _lock:
        batch = list(_buffer)
        _buffer.clear()
        _flushed_at = time.monotonic()
    _push(batch)


def _push(batch: list[str]) -> None:
    if not batch:
        return
    try:
        pipe = client().pipeline(transaction=False)
        push_in(pipe, batch)
        pipe.execute()
    except redis.RedisError as exc:
        dropped(batch, exc)


def read(limit: int = 1000) -> list[auction.AuctionRecord]:
    """The newest `limit` records, oldest first."""
    lines = client().lrange(KEY, -limit, -1)
    return [auction.AuctionRecord.from_dict(json.loads(line)) for line in lines]


def replay(records: list[auction.AuctionRecord]) -> dict[str, Any]:
    """Run every record again; how many gave the logged outcome, and the ids that did not."""
    mismatched = [r.auction_id for r in records if not auction.replays_identically(r)]
    return {
        "replayed": len(records),
        "identical": len(records) - len(mismatched),
        "mismatched": mismatched[:100],
    }
