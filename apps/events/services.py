"""Event ingestion: validate a batch item by item, drop events about posts the sender may
not see, drop duplicates, append the rest to the event log with what the server knows
(user, received time, client info)."""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import redis
from django.conf import settings
from redis.commands.core import Script

from apps.core.errors import ApplicationError
from apps.events.hooks import visible_post_ids
from apps.events.log import DEDUPE_PREFIX, EventLog, LoggedBatch, default_log, ingest_client
from apps.events.schema import Event, EventInvalidError, now_ms, validate_event
from apps.events.spool import spool_batch, spool_is_full

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Rejection:
    index: int
    id: str | None
    code: str
    message: str
    fields: dict[str, list[str]]


@dataclass
class IngestResult:
    accepted: int = 0
    duplicates: int = 0
    # valid events about a post the sender may not see (or that does not exist): not kept
    dropped: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    entry_id: str | None = None
    # the event log was unavailable: the accepted events wait in PostgreSQL (apps.events.spool)
    spooled: bool = False


class EventLogUnavailableError(ApplicationError):
    status_code = 503
    code = "event_log_unavailable"


# SET NX EX for every key in one command: a pipeline of 500 SETs costs more in the client
# (packing and parsing 500 commands) than the rest of the request together. The keys share
# the `{log}` hash tag, so the script is valid on Redis Cluster too.
_MARK_FRESH = """
local ttl = ARGV[1]
local out = {}
for i, key in ipairs(KEYS) do
  if redis.call('SET', key, ARGV[2], 'NX', 'EX', ttl) then out[i] = 1 else out[i] = 0 end
end
return out
"""


@cache
def _mark_fresh_script(client: redis.Redis) -> Script:
    return client.register_script(_MARK_FRESH)


def _mark_fresh(client: redis.Redis, keys: list[str], token: str) -> list[bool]:
    """Set a dedupe marker (holding this request's token) for each key that has none; True
    where one was set (fresh)."""
    flags: list[int] = _mark_fresh_script(client)(keys=keys,
                                                  args=[settings.EVENTS_DEDUPE_TTL, token])
    return [bool(flag) for flag in flags]


def _dedupe_key(*, user_id: int | None, session_id: str, event_id: str) -> str:
    # The session id's length goes first: session "a:b" with event "c" and session "a"
    # with event "b:c" must not share a key.
    owner = f"u:{user_id}" if user_id is not None else f"s{len(session_id)}:{session_id}"
    return f"{DEDUPE_PREFIX}{owner}:{event_id}"


def events_ingest(
    *,
    user_id: int | None,
    viewer: object,
    events: list[Any],
    client: dict[str, str],
    log: EventLog | None = None,
    received_ms: int | None = None,
    server: bool = False,
) -> IngestResult:
    """Validate each event, drop duplicates (same owner and client event id, in this batch
    or seen within EVENTS_DEDUPE_TTL), append the rest as one log entry.

    Events about a post `viewer` (the request's user) may not see are dropped and counted:
    impressions and watch time of private, draft, removed or unknown posts must not reach
    analytics or the ranker. The batch's distinct post ids are checked at once (content's
    visibility rule through `apps.events.hooks`, one query), whatever the batch size.

    The owner of an event is the signed-in user, or the event's session id for a signed-out
    viewer. Dedupe markers are set (SET NX EX) before the append; if the append fails the
    markers are removed again so that the client's retry is not mistaken for a duplicate.

    `server` is for events the server writes itself (apps.experiments' exposures): they may
    be of a server-only type (`schema.SERVER_ONLY_TYPES`), which a client's batch may not.
    """
    received = received_ms if received_ms is not None else now_ms()
    result = IngestResult()
    valid: list[Event] = []
    seen_in_batch: set[tuple[str, str]] = set()
    for index, raw in enumerate(events):
        try:
            event = validate_event(raw, received_ms=received, server=server)
        except EventInvalidError as exc:
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            result.rejected.append(Rejection(
                index=index, id=raw_id[:64] if isinstance(raw_id, str) else None,
                code="invalid", message=exc.message, fields=exc.fields))
            continue
        owner = ("", event.session_id) if user_id is None else (str(user_id), "")
        marker = (owner[0] or owner[1], event.id)
        if marker in seen_in_batch:
            result.duplicates += 1
            continue
        seen_in_batch.add(marker)
        valid.append(event)
    post_ids = {e.post_id for e in valid if e.post_id is not None}
    if post_ids:
        visible = visible_post_ids(viewer=viewer, post_ids=post_ids)
        kept = [e for e in valid if e.post_id is None or e.post_id in visible]
        result.dropped = len(valid) - len(kept)
        valid = kept
    if not valid:
        return result

    client_redis = ingest_client()
    keys = [_dedupe_key(user_id=user_id, session_id=e.session_id, event_id=e.id) for e in valid]
    token = uuid.uuid4().hex
    try:
        fresh_flags = _mark_fresh(client_redis, keys, token)
    except redis.RedisError as exc:
        logger.warning("event dedupe failed, spooling the batch: %s", exc)
        return _spool(result, events=valid, keys=keys, token=token, user_id=user_id,
                      received_ms=received, client=client)
    fresh = [e for e, ok in zip(valid, fresh_flags, strict=True) if ok]
    result.duplicates += len(valid) - len(fresh)
    if not fresh:
        return result
    batch = LoggedBatch(user_id=user_id, received_ms=received, client=client,
                        events=[e.as_log_dict() for e in fresh])
    try:
        result.entry_id = (log or default_log()).append(batch, token=token)
    except redis.RedisError as exc:
        # The markers stay: they hold this request's token, so the drain knows them as the
        # spooled batch's own, and a client's retry meanwhile is a duplicate (it is spooled).
        logger.warning("event append failed, spooling the batch: %s", exc)
        fresh_keys = [k for k, ok in zip(keys, fresh_flags, strict=True) if ok]
        return _spool(result, events=fresh, keys=fresh_keys, token=token, user_id=user_id,
                      received_ms=received, client=client)
    result.accepted = len(fresh)
    if _spooled_here.is_set():
        _drain_soon()
    return result


def _spool(result: IngestResult, *, events: list[Event], keys: list[str], token: str,
           user_id: int | None, received_ms: int, client: dict[str, str]) -> IngestResult:
    """The event log is unavailable: keep the batch in PostgreSQL (drained into the log,
    exactly once, when it is back: apps.events.spool), or refuse it when the spool is full."""
    if spool_is_full():
        raise EventLogUnavailableError("The event log is unavailable; retry later.")
    spool_batch(user_id=user_id, received_ms=received_ms, client=client,
                events=[e.as_log_dict() for e in events], dedupe_keys=keys, token=token)
    result.accepted = len(events)
    result.spooled = True
    _spooled_here.set()
    return result


# This process spooled a batch since its last successful append: the first append that
# works again (the log is back) starts a drain at once, without waiting for the beat's.
_spooled_here = threading.Event()


def _drain_soon() -> None:
    from apps.events.tasks import drain_spool

    _spooled_here.clear()
    if drain_spool.delay() is None:  # not sent (apps.core.task_base): try on the next one
        _spooled_here.set()
