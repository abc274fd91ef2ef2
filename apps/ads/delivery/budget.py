"""Atomic spend counters per campaign per (UTC) day, in Redis.

- `spent` (`ads:b:{<campaign>}:<yyyymmdd>:s`): micros actually charged today: measurement
  calls `record_spend` when it bills an event (the auction's price from the token), and
  reconciles the same amounts into the payments ledger (the record of money; these counters
  are the fast copy that pacing reads, rebuilt from the ledger's postings if lost).
- `in flight` (`...:f:<minute>`): the expected cost of ads served and not yet billed, in
  one bucket per minute that expires after `HOLD_MINUTES`: an ad served at 10:00 whose
  click may still come counts price x P(click) until 10:02 (or until its billing event
  releases it). Pacing admits a new ad only while spent + in flight + its own expected
  cost stays under the budget, in one Lua script (pacing.py), so several web processes
  cannot pass the budget together.

The hash tag `{<campaign>}` keeps a campaign's keys in one Redis Cluster slot.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from .redis_client import client, script

HOLD_MINUTES = 2  # how long a served ad's expected cost is held when nothing bills it
DAY_TTL = 3 * 86400  # the counters outlive their day (reconciliation, reports)


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y%m%d")


def minute_of(moment: datetime) -> int:
    return int(moment.timestamp()) // 60


def _prefix(campaign_id: int, day: str) -> str:
    return f"ads:b:{{{campaign_id}}}:{day}"


def spent_key(campaign_id: int, day: str) -> str:
    return f"{_prefix(campaign_id, day)}:s"


def flight_key(campaign_id: int, day: str, minute: int) -> str:
    return f"{_prefix(campaign_id, day)}:f:{minute}"


def flight_keys(campaign_id: int, day: str, minute: int) -> list[str]:
    return [flight_key(campaign_id, day, m) for m in range(minute - HOLD_MINUTES, minute + 1)]


# Both scripts give back the billed ad's in-flight hold (ARGV[2] micros from the bucket of the
# minute it was served, KEYS[2]; never below 0).
_RELEASE = """
local release = tonumber(ARGV[2])
if release > 0 and redis.call('EXISTS', KEYS[2]) == 1 then
  local left = redis.call('DECRBY', KEYS[2], release)
  if left < 0 then redis.call('SET', KEYS[2], 0, 'KEEPTTL') end
end
"""

_RECORD = """
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('EXPIRE', KEYS[1], ARGV[3])
""" + _RELEASE + """return total
"""


def record_spend(
    *,
    campaign_id: int,
    micros: int,
    at: datetime,
    served_at: datetime | None = None,
    release_micros: int = 0,
) -> int:
    """Add a charge (micros) to the campaign's spend on `at`'s day; returns the day's total.
    `release_micros` (with `served_at`) takes the billed ad's expected cost out of the
    in-flight bucket it was held in (optional: unreleased, it expires in HOLD_MINUTES).
    Raises redis.RedisError when Redis is unavailable (the caller keeps the charge in
    PostgreSQL and the counter is rebuilt from there)."""
    found, keys, args = record_call(
        campaign_id=campaign_id,
        micros=micros,
        at=at,
        served_at=served_at,
        release_micros=release_micros,
    )
    return int(found(keys=keys, args=args, client=client()))


def record_call(
    *,
    campaign_id: int,
    micros: int,
    at: datetime,
    served_at: datetime | None = None,
    release_micros: int = 0,
) -> tuple[Any, list[str], list[int]]:
    """`record_spend`'s script with its keys and arguments (for `redis_client.run_scripts`:
    the bench's simulated day records a second's charges in one round trip)."""
    if type(micros) is not int or micros < 0:
        raise ValueError("micros must be a non-negative int")
    served = served_at or at
    flight = flight_key(campaign_id, day_of(served), minute_of(served))
    keys = [spent_key(campaign_id, day_of(at)), flight]
    return script("record_spend", _RECORD), keys, [micros, max(0, int(release_micros)), DAY_TTL]


# The billing event's charge: at most what is left of the day's budget, checked and debited
# in one script (a late click or view of an ad admitted on its *expected* cost must not take
# the spend past the budget, however many processes bill at once).
_CHARGE = """
local price = tonumber(ARGV[1])
local room = tonumber(ARGV[4]) - tonumber(redis.call('GET', KEYS[1]) or '0')
local charge = price
if room < charge then charge = room end
if charge < 0 then charge = 0 end
redis.call('INCRBY', KEYS[1], charge)
redis.call('EXPIRE', KEYS[1], ARGV[3])
""" + _RELEASE + """return charge
"""


def charge_call(
    *,
    campaign_id: int,
    price_micros: int,
    budget_micros: int,
    at: datetime,
    served_at: datetime | None = None,
    release_micros: int = 0,
) -> tuple[Any, list[str], list[int]]:
    """`charge`'s script with its keys and arguments (for `redis_client.run_scripts`)."""
    if type(price_micros) is not int or price_micros < 0:
        raise ValueError("price_micros must be a non-negative int")
    served = served_at or at
    keys = [
        spent_key(campaign_id, day_of(at)),
        flight_key(campaign_id, day_of(served), minute_of(served)),
    ]
    args = [price_micros, max(0, int(release_micros)), DAY_TTL, max(0, int(budget_micros))]
    return script("charge_within_budget", _CHARGE), keys, args


def charge(
    *,
    campaign_id: int,
    price_micros: int,
    budget_micros: int,
    at: datetime,
    served_at: datetime | None = None,
    release_micros: int = 0,
) -> int:
    """Charge a billing event at most what is left of `budget_micros` on `at`'s day (the
    check and the debit in one script); returns the micros charged (0 when the budget is
    spent). Raises redis.RedisError when Redis is unavailable."""
    found, keys, args = charge_call(
        campaign_id=campaign_id,
        price_micros=price_micros,
        budget_micros=budget_micros,
        at=at,
        served_at=served_at,
        release_micros=release_micros,
    )
    return int(found(keys=keys, args=args, client=client()))


def refund(*, campaign_id: int, micros: int, at: datetime) -> None:
    """Take back a charge whose event was not recorded after all (its transaction failed)."""
    if micros > 0:
        client().decrby(spent_key(campaign_id, day_of(at)), int(micros))


def spent(campaign_ids: Iterable[int], *, day: datetime) -> dict[int, int]:
    """Today's charged micros per campaign (0 when nothing was charged), one round trip."""
    ids = list(dict.fromkeys(campaign_ids))
    if not ids:
        return {}
    stamp = day_of(day)
    values = client().mget([spent_key(c, stamp) for c in ids])
    return {c: int(v or 0) for c, v in zip(ids, values, strict=True)}


def set_spent(*, campaign_id: int, micros: int, day: datetime) -> None:
    """Rebuild a counter from the ledger's postings (reconciliation after a Redis loss)."""
    client().set(spent_key(campaign_id, day_of(day)), int(micros), ex=DAY_TTL)
