"""Frequency caps: at most N served ads of an ad group per viewer per (UTC) day and per
ISO week, exact under concurrency: one Lua script checks both counters and takes one from
each, or neither. A served ad counts (not only a measured impression): the cap can never be
passed, even by impressions reported late.

Keys `ads:fc:{<viewer>}:<group>:d:<yyyymmdd>` and `...:w:<isoyear>W<week>`; the viewer's
hash tag keeps one viewer's counters in one Redis Cluster slot (the pre-auction read of a
viewer's counters for every candidate group is one MGET)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from .redis_client import client, script

DAY_TTL = 2 * 86400
WEEK_TTL = 8 * 86400


@dataclass(frozen=True)
class Cap:
    ad_group_id: int
    per_day: int | None
    per_week: int | None

    @property
    def limited(self) -> bool:
        return bool(self.per_day) or bool(self.per_week)


def _stamps(now: datetime) -> tuple[str, str]:
    utc = now.astimezone(UTC)
    year, week, _ = utc.isocalendar()
    return utc.strftime("%Y%m%d"), f"{year}W{week:02d}"


def keys_for(viewer_key: str, ad_group_id: int, now: datetime) -> tuple[str, str]:
    day, week = _stamps(now)
    base = f"ads:fc:{{{viewer_key}}}:{ad_group_id}"
    return f"{base}:d:{day}", f"{base}:w:{week}"


def cap_keys(viewer_key: str, caps: Sequence[Cap], *, now: datetime) -> list[str]:
    """The counters `under_from` reads: for each limited group, its day counter if it has a
    daily cap and its week counter if it has a weekly one, in order (the serving path reads
    them in the same MGET as pacing's; every key costs the page's Python time)."""
    keys: list[str] = []
    day, week = _stamps(now)  # once a page (as `keys_for` spells them)
    for cap in caps:
        if cap.limited:
            base = f"ads:fc:{{{viewer_key}}}:{cap.ad_group_id}"
            if cap.per_day:
                keys.append(f"{base}:d:{day}")
            if cap.per_week:
                keys.append(f"{base}:w:{week}")
    return keys


def under_from(caps: Sequence[Cap], values: Sequence[Any]) -> set[int]:
    """The limited groups still under their caps, from the values of `cap_keys(caps)`."""
    ok = set()
    i = 0
    for cap in caps:
        if not cap.limited:
            continue
        under = True
        for limit in (cap.per_day, cap.per_week):
            if limit:
                under = under and int(values[i] or 0) < limit
                i += 1
        if under:
            ok.add(cap.ad_group_id)
    return ok


def under_caps(viewer_key: str, caps: Sequence[Cap], *, now: datetime) -> set[int]:
    """The capped groups this viewer may still see (one MGET); uncapped groups are not
    read and are always allowed (the caller need not ask). Raises redis.RedisError."""
    keys = cap_keys(viewer_key, caps, now=now)
    if not keys:
        return set()
    return under_from(caps, client().mget(keys))


_TAKE = """
local d = tonumber(redis.call('GET', KEYS[1]) or '0')
local w = tonumber(redis.call('GET', KEYS[2]) or '0')
local dc = tonumber(ARGV[1])
local wc = tonumber(ARGV[2])
if (dc > 0 and d >= dc) or (wc > 0 and w >= wc) then return 0 end
redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('INCR', KEYS[2])
redis.call('EXPIRE', KEYS[2], ARGV[4])
return 1
"""


def take_call(viewer_key: str, cap: Cap, *, now: datetime) -> tuple[list[str], list[int]]:
    """The take script's keys and arguments (for `take`, or a pipeline)."""
    day_key, week_key = keys_for(viewer_key, cap.ad_group_id, now)
    return [day_key, week_key], [cap.per_day or 0, cap.per_week or 0, DAY_TTL, WEEK_TTL]


def take_script() -> Any:
    return script("caps_take", _TAKE)


def take(viewer_key: str, cap: Cap, *, now: datetime) -> bool:
    """Check and reserve one view of the group for the viewer, atomically. True when
    under both caps (and then counted). Raises redis.RedisError without Redis."""
    if not cap.limited:
        return True
    keys, args = take_call(viewer_key, cap, now=now)
    return bool(take_script()(keys=keys, args=args, client=client()))


def give_back(viewer_key: str, cap: Cap, *, now: datetime) -> None:
    """Undo a `take` whose ad was not served after all (pacing refused it)."""
    if not cap.limited:
        return
    day_key, week_key = keys_for(viewer_key, cap.ad_group_id, now)
    pipe = client().pipeline()
    pipe.decr(day_key)
    pipe.decr(week_key)
    pipe.execute()
