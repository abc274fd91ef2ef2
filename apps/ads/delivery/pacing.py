"""Pacing: spend each campaign's daily budget smoothly over the day, following the
expected traffic curve, and never past the budget, whatever the bursts and however many
web processes serve at once.

- *The curve.* F(t) is the share of a day's traffic expected by time t (hourly weights,
  `SWIPEME_ADS_TRAFFIC_CURVE`, interpolated within the hour). By time t a campaign may
  have spent (charged + in flight, see budget.py) at most budget x min(1, F(t) + lead).
- *Throttling near the curve.* Within `band` x budget below its allowance, a campaign is
  admitted with probability headroom / band: delivery thins out smoothly rather than
  stopping and starting, and bursts of traffic cannot spend ahead of the curve.
- *Admission is atomic.* The winner of an auction is admitted by one Lua script that reads
  spent + in flight, checks the hard budget and the curve, and adds the ad's expected cost
  (price x P(billing event)) to the in-flight bucket. Two processes cannot both take the
  last of a budget. A CPM ad's expected cost is its whole price (its impression is billed
  at most once), so CPM spend never passes the budget; clicks and views can pass it only by
  the chance that more of the in-flight ads than expected bill within HOLD_MINUTES.

`states()` reads every candidate campaign's position in one round trip (the pre-auction
filter); `admit()` is the atomic check for the winner.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import UTC, datetime
from functools import cache
from typing import Any, NamedTuple

from . import budget
from .conf import conf
from .redis_client import client, script

DAY_MINUTES = 1440


@cache
def _cumulative(weights: tuple[float, ...]) -> tuple[float, ...]:
    total = float(sum(weights))
    if len(weights) != 24 or total <= 0 or min(weights) < 0:
        raise ValueError("the traffic curve needs 24 non-negative weights")
    acc, out = 0.0, [0.0]
    for w in weights:
        acc += w / total
        out.append(acc)
    out[-1] = 1.0
    return tuple(out)


def curve_share(moment: datetime, weights: Sequence[float] | None = None) -> float:
    """F(t): the share of the day's traffic expected by `moment` (UTC), in [0, 1]."""
    cum = _cumulative(tuple(float(w) for w in (weights or conf("SWIPEME_ADS_TRAFFIC_CURVE"))))
    utc = moment.astimezone(UTC)
    minutes = utc.hour * 60 + utc.minute + utc.second / 60
    hour = min(int(minutes // 60), 23)
    frac = (minutes - hour * 60) / 60
    return cum[hour] + (cum[hour + 1] - cum[hour]) * frac


def allowance(budget_micros: int, moment: datetime, *, ppm: int | None = None) -> int:
    """What a campaign may have spent (charged + in flight) by `moment`."""
    if ppm is None:
        ppm = share_ppm(moment)
    return min(budget_micros, budget_micros * ppm // 1_000_000)


def share_ppm(moment: datetime) -> int:
    """min(1, F(t) + lead) in parts per million (integer money: 0.27 is 270,000 ppm, not
    0.2699999...)."""
    share = min(1.0, curve_share(moment) + float(conf("SWIPEME_ADS_PACING_LEAD")))
    return round(share * 1_000_000)


class State(NamedTuple):
    """A campaign's position for the throttle (a named tuple: a page makes one per
    candidate campaign, and a frozen dataclass's construction was most of that cost)."""

    campaign_id: int
    budget_micros: int
    spent_micros: int
    in_flight_micros: int
    allowance_micros: int

    @property
    def committed(self) -> int:
        return self.spent_micros + self.in_flight_micros

    def admit_probability(self, band_fraction: float) -> float:
        headroom = self.allowance_micros - self.committed
        if headroom <= 0:
            return 0.0
        band = self.budget_micros * band_fraction
        return 1.0 if band <= 0 or headroom >= band else headroom / band


# Per campaign (KEYS: its spent counters): spent, and the sum of its in-flight buckets
# (ARGV: the first bucket's minute, how many), computed in Redis: the page sends one key
# and reads two numbers per campaign instead of HOLD_MINUTES + 2 of each (the protocol's
# packing and parsing in Python was most of a page's ad decision). The buckets share the
# spent key's hash tag. The answer is ONE string of integers separated by spaces ("spent
# flight spent flight ..."): redis-py's pure-Python reply parser costs several calls per
# array element, `str.split` one for all (integer micros up to 10^13 stay exact in Lua's
# doubles and in '%d').
_STATES = """
local first = tonumber(ARGV[1])
local n = tonumber(ARGV[2])
local out = {}
for i, key in ipairs(KEYS) do
  local base = string.sub(key, 1, -3)
  local flight = 0
  for m = first, first + n - 1 do
    flight = flight + tonumber(redis.call('GET', base .. ':f:' .. m) or '0')
  end
  out[2 * i - 1] = string.format('%d', tonumber(redis.call('GET', key) or '0'))
  out[2 * i] = string.format('%d', flight)
end
return table.concat(out, ' ')
"""


def states_script() -> Any:
    return script("pacing_states", _STATES)


def states_call(campaign_ids: Sequence[int], *, now: datetime) -> tuple[list[str], list[int]]:
    """The states script's keys and arguments (for `states`, or the serving path's read
    pipeline with the viewer's cap counters)."""
    day, minute = budget.day_of(now), budget.minute_of(now)
    keys = [budget.spent_key(cid, day) for cid in campaign_ids]
    return keys, [minute - budget.HOLD_MINUTES, budget.HOLD_MINUTES + 1]


def states_from(budgets: dict[int, int], answer: Any, *, now: datetime) -> dict[int, State]:
    """Every campaign's State from the states script's answer for `list(budgets)` (one
    string, "spent flight spent flight ...")."""
    ppm = share_ppm(now)
    text = answer.decode() if isinstance(answer, bytes) else str(answer or "")
    values = [int(v) for v in text.split()] if budgets else []
    out = {}
    for i, cid in enumerate(budgets):
        out[cid] = State(
            campaign_id=cid,
            budget_micros=budgets[cid],
            spent_micros=values[2 * i],
            in_flight_micros=values[2 * i + 1],
            allowance_micros=allowance(budgets[cid], now, ppm=ppm),
        )
    return out


def states(budgets: dict[int, int], *, now: datetime) -> dict[int, State]:
    """Every campaign's spend, in-flight cost and allowance: one script call.
    Raises redis.RedisError when Redis is unavailable."""
    if not budgets:
        return {}
    keys, args = states_call(list(budgets), now=now)
    return states_from(budgets, states_script()(keys=keys, args=args, client=client()), now=now)


class StateCache:
    """This process's last read of each campaign's spend and in-flight cost, reused by the
    pre-auction throttle for `SWIPEME_ADS_STATES_TTL` seconds of the page's clock (`now`:
    the real time when serving, the simulated time in the bench's day). A page reads only
    the campaigns whose entry is missing, older, of another day or of another budget, so at
    steady traffic most pages read none (the states script ran 1 + HOLD_MINUTES + 1 GETs per
    campaign in Redis, and its keys were most of what the page packed). The throttle only
    thins delivery near the curve: `admit` re-reads Redis atomically for every winner, so
    staleness costs at most a refused winner (the auction runs again), never spend past the
    budget or the curve. Each admission's answer (committed + cost) refreshes the winner's
    entry. Entries are plain dict items (atomic under the GIL); `clear()` for tests."""

    def __init__(self) -> None:
        # campaign -> (read at: epoch seconds of the page clock, day, budget, spent, flight)
        self._seen: dict[int, tuple[float, str, int, int, int]] = {}

    def stale(self, budgets: dict[int, int], *, now: datetime, ttl: float) -> list[int]:
        """The campaigns of `budgets` to read again."""
        if ttl <= 0:
            return list(budgets)
        at, day = now.timestamp(), budget.day_of(now)
        seen = self._seen
        out = []
        for cid, micros in budgets.items():
            hit = seen.get(cid)
            if hit is None or hit[1] != day or hit[2] != micros or not 0 <= at - hit[0] < ttl:
                out.append(cid)
        return out

    def store(self, budgets: dict[int, int], answer: Any, *, now: datetime) -> None:
        """The states script's answer for `list(budgets)`."""
        text = answer.decode() if isinstance(answer, bytes) else str(answer or "")
        values = [int(v) for v in text.split()] if budgets else []
        at, day = now.timestamp(), budget.day_of(now)
        for i, (cid, micros) in enumerate(budgets.items()):
            self._seen[cid] = (at, day, micros, values[2 * i], values[2 * i + 1])

    def admitted(self, campaign_id: int, committed_micros: int) -> None:
        """What an admission answered for the campaign (its spent + in flight now)."""
        hit = self._seen.get(campaign_id)
        if hit is not None:
            at, day, micros, spent, _ = hit
            self._seen[campaign_id] = (at, day, micros, spent, max(0, committed_micros - spent))

    def states(self, budgets: dict[int, int], *, now: datetime) -> dict[int, State]:
        """Every campaign's State (all of `budgets` stored), the allowance at `now`
        (`allowance`'s rule, inline: this runs for every candidate campaign of a page)."""
        ppm = share_ppm(now)
        seen = self._seen
        out = {}
        for cid, micros in budgets.items():
            hit = seen.get(cid)
            if hit is None:  # cleared meanwhile: not in this page's auctions
                continue
            out[cid] = State(cid, micros, hit[3], hit[4], min(micros, micros * ppm // 1_000_000))
        return out

    def clear(self) -> None:
        self._seen.clear()


def passes(state: State, *, rng: random.Random | None = None, band: float | None = None) -> bool:
    """The pre-auction throttle: whether the campaign enters this auction."""
    p = state.admit_probability(float(conf("SWIPEME_ADS_PACING_BAND")) if band is None else band)
    return p >= 1.0 or (p > 0 and (rng or random).random() < p)


def fits(state: State, *, cost_micros: int) -> bool:
    """Whether `admit` would take this winner by what `state` knows: the admission script's
    three checks (hard budget, something left after the charges, the curve) in Python. The
    serving path drops a winner that does not fit before the commit: the throttle
    (`passes`) lets a campaign in while any headroom is left, also headroom smaller than the
    winner's cost, which `admit` then refuses; with small budgets (one ad's cost near the
    throttle band) each such winner cost a round trip and one of the slot's few tries, and
    the slot went empty. `admit` still decides (the state may be stale)."""
    committed = state.committed + cost_micros
    return (
        committed <= state.budget_micros
        and state.spent_micros < state.budget_micros
        and committed <= state.allowance_micros
    )


def passing(states: dict[int, State], *, rng: random.Random | None = None) -> set[int]:
    """The campaigns that enter this page's auctions (`passes` for each; the band setting
    read once a page, not once a campaign)."""
    band = float(conf("SWIPEME_ADS_PACING_BAND"))
    return {cid for cid, state in states.items() if passes(state, rng=rng, band=band)}


_ADMIT = """
local spent = tonumber(redis.call('GET', KEYS[1]) or '0')
local flight = 0
for i = 2, #KEYS do flight = flight + tonumber(redis.call('GET', KEYS[i]) or '0') end
local committed = spent + flight
local cost = tonumber(ARGV[3])
if committed + cost > tonumber(ARGV[1]) then return {0, committed} end
if spent >= tonumber(ARGV[1]) then return {0, committed} end
if committed + cost > tonumber(ARGV[2]) then return {0, committed} end
redis.call('INCRBY', KEYS[#KEYS], cost)
redis.call('EXPIRE', KEYS[#KEYS], ARGV[4])
return {1, committed + cost}
"""


def expected_cost(price_micros: int, billing_probability: float) -> int:
    """What admitting an ad holds against the budget: its price times the chance that its
    billing event happens, rounded up (at least 1 micro for a priced ad)."""
    if price_micros <= 0:
        return 0
    p = min(1.0, max(0.0, billing_probability))
    return max(1, math.ceil(price_micros * p))


def admit_call(
    *,
    campaign_id: int,
    budget_micros: int,
    cost_micros: int,
    now: datetime,
) -> tuple[list[str], list[int]]:
    """The admission script's keys and arguments (for `admit`, or a pipeline)."""
    day, minute = budget.day_of(now), budget.minute_of(now)
    keys = [budget.spent_key(campaign_id, day), *budget.flight_keys(campaign_id, day, minute)]
    args = [
        budget_micros,
        allowance(budget_micros, now),
        int(cost_micros),
        (budget.HOLD_MINUTES + 2) * 60,
    ]
    return keys, args


def admit_script() -> Any:
    return script("pacing_admit", _ADMIT)


def admit(
    *,
    campaign_id: int,
    budget_micros: int,
    cost_micros: int,
    now: datetime,
) -> bool:
    """Atomically: whether the campaign may spend `cost_micros` more now (hard budget and
    the curve), and if so hold it in flight, while anything is left after the charges so
    far: a click or view that then costs more than is left is charged only the remainder
    (`budget.charge`, billing's check and debit in one script), so the last of a small
    budget is sold rather than left unspent, and no event takes the spend past the budget.
    Raises redis.RedisError without Redis."""
    keys, args = admit_call(
        campaign_id=campaign_id,
        budget_micros=budget_micros,
        cost_micros=cost_micros,
        now=now,
    )
    ok, _ = admit_script()(keys=keys, args=args, client=client())
    return bool(ok)


def release(*, campaign_id: int, cost_micros: int, now: datetime) -> None:
    """Give back an admission that was not served (e.g. the frequency cap refused it)."""
    key = budget.flight_key(campaign_id, budget.day_of(now), budget.minute_of(now))
    client().decrby(key, int(cost_micros))
