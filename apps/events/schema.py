"""The client event contract: which events exist, what each may carry, and the validation
of one event. Plain Python (no DRF serializer per item): a batch holds up to 500 events
and is validated on the hot path of the ingest endpoint.

An event, as the client sends it:

    {"id": "<client event id, 1..64 chars>", "type": "watch_end", "ts": <epoch ms int>,
     "session_id": "<1..64 chars>", "post_id": "<snowflake id string or null>",
     "data": {...}}

Semantics the aggregators rely on (clients must follow them):

- `play_start` starts a *play* of a post; `watch_end` (or `skip`, for a play abandoned
  within ~1 s) ends it. Their `watched_ms` is the play's total watch time, loops included;
  it is what watch time is summed from. `watch_progress` is a heartbeat during a play
  (cumulative `watched_ms` of the play so far): it updates the furthest completion but is
  never summed, so a client that dies mid-play still reports how far it got.
- `completion` is sent once per play when playback first reaches the end; `rewatch` each
  time it loops again after that (`loops` in `watch_end` is the play's loop count).
- `play_start` may say where the play came from (`source`: the For You or Following feed,
  a profile, search, a shared link, a sound or hashtag page, `other`): creators' traffic
  sources. A play without one is counted as "not reported".
- `like`, `comment`, `share`, `favourite`, `follow`, `unfollow`, `report` are telemetry
  only: the engagement, comments, social and moderation APIs do the real thing.
- `not_interested` on a post feeds the feed's fatigue (its creator, sound and hashtags).
- `qoe` reports playback quality for a post (time to first frame, rebuffers, bitrate,
  rendition switches, an error code, the network type, the rung: the short edge of the
  rendition played last). It is sent right after the play's `watch_end` or `skip`, with
  the same session and post: the QoE page pairs them for the play's watch time.
- `search` is sent once per full search shown (Enter, a tab, a suggestion): the server's
  `search_id` from the search answer, the query as typed, the tab and how many results came
  back; `search_click` when one of its results is opened, with the same `search_id`, its
  0-based `position` on the list, the result's type and id (a hashtag's id is its name;
  `post_id` may name the video). Trending searches and click-through come from them.
- `exposure` is written by the server only (apps.experiments): the viewer was shown an
  experiment's arm (its value was read), at most once per unit, experiment and day. A
  client cannot send it (`SERVER_ONLY_TYPES`): the arm comes from the server's assignment.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Final

from apps.core.ids import parse_id

MAX_EVENTS_PER_BATCH: Final = 500
MAX_ID_LENGTH: Final = 64

IMPRESSION = "impression"
PLAY_START = "play_start"
WATCH_PROGRESS = "watch_progress"
WATCH_END = "watch_end"
COMPLETION = "completion"
REWATCH = "rewatch"
SKIP = "skip"
LIKE = "like"
COMMENT = "comment"
SHARE = "share"
FAVOURITE = "favourite"
FOLLOW = "follow"
UNFOLLOW = "unfollow"
NOT_INTERESTED = "not_interested"
REPORT = "report"
QOE = "qoe"
SEARCH = "search"
SEARCH_CLICK = "search_click"
EXPOSURE = "exposure"

EVENT_TYPES: Final = (
    IMPRESSION, PLAY_START, WATCH_PROGRESS, WATCH_END, COMPLETION, REWATCH, SKIP, LIKE,
    COMMENT, SHARE, FAVOURITE, FOLLOW, NOT_INTERESTED, REPORT, QOE, SEARCH, SEARCH_CLICK,
    UNFOLLOW, EXPOSURE,
)
# Written by the server only (services.events_ingest(..., server=True)); refused from clients.
SERVER_ONLY_TYPES: Final = frozenset({EXPOSURE})
CLIENT_EVENT_TYPES: Final = tuple(t for t in EVENT_TYPES if t not in SERVER_ONLY_TYPES)
# Types whose event is about no post in particular may leave post_id null.
POST_OPTIONAL: Final = frozenset({FOLLOW, UNFOLLOW, REPORT, QOE, SEARCH, SEARCH_CLICK,
                                  EXPOSURE})

# Where a play started (creator analytics' traffic sources); the web client's surfaces.
PLAY_SOURCES: Final = ("for_you", "following", "profile", "search", "share", "sound",
                       "hashtag", "other")

# The search API's tabs and result types (apps.search; events cannot import it).
SEARCH_TABS: Final = ("top", "accounts", "videos", "sounds", "live", "hashtags")
SEARCH_RESULT_TYPES: Final = ("account", "video", "sound", "live", "hashtag")
SEARCH_QUERY_MAX_LENGTH: Final = 200

NETWORK_TYPES: Final = ("wifi", "cellular", "ethernet", "slow-2g", "2g", "3g", "4g", "5g",
                        "offline", "unknown")

_DAY_MS: Final = 24 * 3600 * 1000
_HOUR_MS: Final = 3600 * 1000
# Events older than this (clock skew, a phone offline for weeks) or in the future beyond
# the skew allowance are refused: they would land in the wrong aggregates.
MAX_EVENT_AGE_MS: Final = 30 * _DAY_MS
MAX_CLOCK_SKEW_MS: Final = _DAY_MS


@dataclass(frozen=True)
class IntField:
    low: int
    high: int
    required: bool = False


@dataclass(frozen=True)
class StrField:
    max_length: int
    choices: tuple[str, ...] = ()
    required: bool = False
    allow_empty: bool = True


@dataclass(frozen=True)
class IdField:
    """A snowflake id as a string (JSON cannot carry 64-bit integers safely)."""

    required: bool = False


Field = IntField | StrField | IdField

_WATCH: Final[dict[str, Field]] = {
    "watched_ms": IntField(0, _DAY_MS, required=True),
    "duration_ms": IntField(1, _HOUR_MS, required=True),
    "loops": IntField(0, 10_000),
    "position_ms": IntField(0, _HOUR_MS),
}

DATA_FIELDS: Final[dict[str, dict[str, Field]]] = {
    PLAY_START: {"source": StrField(16, choices=PLAY_SOURCES)},
    WATCH_PROGRESS: _WATCH,
    WATCH_END: _WATCH,
    SKIP: {
        "watched_ms": IntField(0, _DAY_MS, required=True),
        "duration_ms": IntField(1, _HOUR_MS, required=True),
    },
    FOLLOW: {"creator_id": IdField(required=True)},
    UNFOLLOW: {"creator_id": IdField(required=True)},
    QOE: {
        "ttff_ms": IntField(0, 600_000),
        "rebuffer_count": IntField(0, 100_000),
        "rebuffer_ms": IntField(0, _DAY_MS),
        "bitrate_kbps": IntField(0, 1_000_000),
        "rendition_switches": IntField(0, 100_000),
        "error": StrField(64),
        "network_type": StrField(16, choices=NETWORK_TYPES),
        # the rung played last: the rendition's short edge in pixels (240, 360, 540, ...)
        "rung": IntField(0, 4320),
    },
    SEARCH: {
        "search_id": StrField(MAX_ID_LENGTH, required=True, allow_empty=False),
        "query": StrField(SEARCH_QUERY_MAX_LENGTH, required=True),
        "tab": StrField(16, choices=SEARCH_TABS, required=True),
        "result_count": IntField(0, 1_000_000, required=True),
    },
    SEARCH_CLICK: {
        "search_id": StrField(MAX_ID_LENGTH, required=True, allow_empty=False),
        "tab": StrField(16, choices=SEARCH_TABS, required=True),
        "position": IntField(0, 999, required=True),
        "result_type": StrField(16, choices=SEARCH_RESULT_TYPES, required=True),
        # a hashtag's id is its name (up to 100 characters)
        "result_id": StrField(100, required=True, allow_empty=False),
    },
    EXPOSURE: {
        "experiment": StrField(64, required=True, allow_empty=False),
        "arm": StrField(64, required=True, allow_empty=False),
    },
}

EVENT_KEYS: Final = frozenset({"id", "type", "ts", "session_id", "post_id", "data"})


class EventInvalidError(Exception):
    """One event broke the contract; `fields` maps dotted paths to messages."""

    def __init__(self, fields: dict[str, list[str]]) -> None:
        first = next(iter(fields.items()))
        super().__init__(f"{first[0]}: {first[1][0]}")
        self.message = f"{first[0]}: {first[1][0]}"
        self.fields = fields


@dataclass(frozen=True)
class Event:
    """A validated event. `post_id` and `data["creator_id"]` are ints here."""

    id: str
    type: str
    ts: int
    session_id: str
    post_id: int | None
    data: dict[str, Any]

    def as_log_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "ts": self.ts, "session_id": self.session_id,
                "post_id": self.post_id, "data": self.data}


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_id(value: object) -> int | None:
    """Ids travel as strings in events (JSON numbers lose precision past 2**53)."""
    return parse_id(value) if isinstance(value, str) else None


def _short_string(value: object) -> bool:
    return isinstance(value, str) and 1 <= len(value) <= MAX_ID_LENGTH


def _validate_field(spec: Field, value: object) -> tuple[object, str | None]:
    if isinstance(spec, IntField):
        if not _is_int(value):
            return None, "Must be an integer."
        assert isinstance(value, int)
        if not spec.low <= value <= spec.high:
            return None, f"Must be between {spec.low} and {spec.high}."
        return value, None
    if isinstance(spec, StrField):
        if not isinstance(value, str):
            return None, "Must be a string."
        if len(value) > spec.max_length:
            return None, f"At most {spec.max_length} characters."
        if not value and not spec.allow_empty:
            return None, "Must not be empty."
        if spec.choices and value not in spec.choices:
            return None, f"One of: {', '.join(spec.choices)}."
        return value, None
    parsed = _parse_id(value)
    if parsed is None:
        return None, "Must be an id (a string of digits)."
    return parsed, None


def validate_event(raw: object, *, received_ms: int, server: bool = False) -> Event:
    """Validate one client event (or, with `server`, one the server writes, which may be of
    a server-only type); raise EventInvalidError with every field problem found."""
    allowed = EVENT_TYPES if server else CLIENT_EVENT_TYPES
    if not isinstance(raw, dict):
        raise EventInvalidError({"non_field_errors": ["An event must be a JSON object."]})
    errors: dict[str, list[str]] = {}
    for key in raw:
        if key not in EVENT_KEYS:
            errors[str(key)[:64]] = ["Unknown field."]
    event_id = raw.get("id")
    if not _short_string(event_id):
        errors["id"] = [f"A string of 1 to {MAX_ID_LENGTH} characters."]
    event_type = raw.get("type")
    if not isinstance(event_type, str) or event_type not in allowed:
        errors["type"] = [f"One of: {', '.join(allowed)}."]
    ts = raw.get("ts")
    if not _is_int(ts):
        errors["ts"] = ["Epoch milliseconds, an integer."]
    else:
        assert isinstance(ts, int)
        if not received_ms - MAX_EVENT_AGE_MS <= ts <= received_ms + MAX_CLOCK_SKEW_MS:
            errors["ts"] = ["Out of range: older than 30 days or in the future."]
    session_id = raw.get("session_id")
    if not _short_string(session_id):
        errors["session_id"] = [f"A string of 1 to {MAX_ID_LENGTH} characters."]
    raw_post = raw.get("post_id")
    post_id: int | None = None
    if raw_post is None:
        if isinstance(event_type, str) and event_type in EVENT_TYPES \
                and event_type not in POST_OPTIONAL:
            errors["post_id"] = ["Required for this event type."]
    else:
        post_id = _parse_id(raw_post)
        if post_id is None:
            errors["post_id"] = ["Must be a post id (a string of digits) or null."]
    raw_data = raw.get("data", {})
    data: dict[str, Any] = {}
    if raw_data is None:
        raw_data = {}
    if not isinstance(raw_data, dict):
        errors["data"] = ["Must be an object."]
    elif isinstance(event_type, str) and event_type in EVENT_TYPES:
        specs = DATA_FIELDS.get(event_type, {})
        for key in raw_data:
            if key not in specs:
                errors[f"data.{str(key)[:64]}"] = ["Unknown field for this event type."]
        for name, spec in specs.items():
            if name not in raw_data or raw_data[name] is None:
                if spec.required:
                    errors[f"data.{name}"] = ["Required for this event type."]
                continue
            value, problem = _validate_field(spec, raw_data[name])
            if problem:
                errors[f"data.{name}"] = [problem]
            else:
                data[name] = value
    if errors:
        raise EventInvalidError(errors)
    assert isinstance(event_id, str)
    assert isinstance(event_type, str)
    assert isinstance(ts, int)
    assert isinstance(session_id, str)
    return Event(id=event_id, type=event_type, ts=ts, session_id=session_id, post_id=post_id,
                 data=data)
