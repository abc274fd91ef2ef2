"""The auction for one ad slot (or a few): pure functions over candidates, replayable.

Every candidate's *expected value per impression* is

    value = bid per billing event x P(billing event | impression) x quality factor

- CPM bids are per 1,000 impressions, billed per impression: P = 1, bid per event = bid/1000;
- CPC bids are per click: P = pCTR; CPV bids are per 2-second view: P = p2sView;
- a target-cost-per-result bid ("pay about X per click / 2 s view / conversion") is turned
  into a per-impression bid from the predicted rate of its result (bid per impression =
  target x P(result)) and billed per impression (what "bids from the predicted rates" means).

The predicted rates are the calibrated predictions of `predict.py`; the quality factor (in
(0, 1], from predicted negative feedback) keeps annoying ads from buying their way up.

Candidates are ranked by value (ties broken by a hash of the auction id and the ad id, so
a tie is fair between ads and the same on replay); a candidate below the reserve (an
expected value per 1,000 impressions) does not enter. *Generalised second price*: the
winner of position k pays, per billing event, the least bid that keeps its value at or
above that of position k + 1 (or the reserve, for the last), rounded up to the micro and
never above its own bid.

Money is integer micros. Rates and quality factors are floats, but the price is computed
with exact fractions (the floats rounded to parts per billion), so a replay on another
machine gives the same micros. `AuctionRecord` is the auction's inputs and outcome as
plain JSON; `replay(record)` runs it again and must give the same outcome.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

# The bid strategies (an ad group's) and what each is billed on.
CPM = "cpm"
CPC = "cpc"
CPV = "cpv2s"  # cost per 2-second view (AdGroup.BidStrategy's values)
TARGET_COST = "target_cost"
STRATEGIES = (CPM, CPC, CPV, TARGET_COST)

# Results a target-cost strategy can aim at.
RESULT_IMPRESSION = "impression"  # reach: the target is per 1,000 impressions
RESULT_CLICK = "click"
RESULT_VIEW_2S = "view_2s"
RESULT_CONVERSION = "conversion"
RESULTS = (RESULT_IMPRESSION, RESULT_CLICK, RESULT_VIEW_2S, RESULT_CONVERSION)
# The result a campaign objective buys (Campaign.Objective's values).
OBJECTIVE_RESULT = {
    "reach": RESULT_IMPRESSION,
    "video_views": RESULT_VIEW_2S,
    "traffic": RESULT_CLICK,
    "conversions": RESULT_CONVERSION,
}

BILLING_EVENT = {CPM: "impression", CPC: "click", CPV: "view_2s", TARGET_COST: "impression"}

# Changing the maths changes this: a record replays with the version it was run with.
ALGORITHM_VERSION = 1
PPB = 1_000_000_000


class AuctionInputError(ValueError):
    pass


@dataclass(frozen=True)
class Candidate:
    """One eligible ad in one auction, with everything the maths reads."""

    ad_id: int
    ad_group_id: int
    campaign_id: int
    strategy: str  # one of STRATEGIES
    bid_micros: int  # CPM: per 1,000 impressions; CPC/CPV: per event; target: per result
    p_click: float  # calibrated P(click | impression)
    p_view_2s: float  # calibrated P(2-second view | impression)
    quality: float = 1.0  # (0, 1]
    p_conversion: float = 0.0  # P(conversion | impression), for conversion targets
    target_result: str = ""  # TARGET_COST only: one of RESULTS

    def validate(self) -> None:
        if self.strategy not in STRATEGIES:
            raise AuctionInputError(f"unknown strategy {self.strategy!r}")
        if type(self.bid_micros) is not int or self.bid_micros <= 0:
            raise AuctionInputError("bid_micros must be a positive int")
        for name in ("p_click", "p_view_2s", "p_conversion"):
            value = getattr(self, name)
            if not (isinstance(value, float | int) and 0.0 <= value <= 1.0):
                raise AuctionInputError(f"{name} must be within [0, 1]")
        if not (isinstance(self.quality, float | int) and 0.0 < self.quality <= 1.0):
            raise AuctionInputError("quality must be within (0, 1]")
        if self.strategy == TARGET_COST and self.target_result not in RESULTS:
            raise AuctionInputError("a target-cost bid names its result")


@dataclass(frozen=True)
class Placement:
    """One winner: its position, what it pays per billing event, and why."""

    position: int
    ad_id: int
    ad_group_id: int
    campaign_id: int
    billing_event: str
    price_micros: int  # per billing event, <= the bid per billing event
    bid_per_event_micros: int  # the bid converted to the billing event, rounded down
    value_micros: float  # expected value per impression (ranking score)


@dataclass(frozen=True)
class Outcome:
    placements: tuple[Placement, ...]
    ranked: tuple[int, ...]  # ad ids of every entrant, best first (for the log)
    below_reserve: tuple[int, ...]


@dataclass
class AuctionRecord:
    """Inputs and outcome of one auction, as JSON-able data, replayable offline."""

    auction_id: str
    reserve_cpm_micros: int
    slots: int
    candidates: list[dict[str, Any]]
    outcome: dict[str, Any]
    version: int = ALGORITHM_VERSION
    context: dict[str, Any] = field(default_factory=dict)  # viewer kind, position, ...

    def to_dict(self) -> dict[str, Any]:
        # By hand: dataclasses.asdict deep-copies every candidate (most of a feed page's
        # ad decision time when it was used).
        return {
            "auction_id": self.auction_id,
            "reserve_cpm_micros": self.reserve_cpm_micros,
            "slots": self.slots,
            "candidates": self.candidates,
            "outcome": self.outcome,
            "version": self.version,
            "context": self.context,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AuctionRecord:
        return cls(**data)


# --- the maths --------------------------------------------------------------------------


def _exact(x: float) -> Fraction:
    """A rate or factor as an exact fraction in parts per billion: 0.3 is 3/10 (not the
    binary float's 0.29999...), so prices come out as the hand computation says, and the
    same on any machine."""
    return Fraction(round(x * PPB), PPB)


def billing_rate(candidate: Candidate) -> Fraction:
    """P(billing event | impression), exact."""
    if candidate.strategy == CPC:
        return _exact(candidate.p_click)
    if candidate.strategy == CPV:
        return _exact(candidate.p_view_2s)
    return Fraction(1)  # CPM and target cost are billed per impression


def result_rate(candidate: Candidate) -> Fraction:
    """P(the target-cost strategy's result | impression); a reach target is per 1,000."""
    if candidate.target_result == RESULT_IMPRESSION:
        return Fraction(1, 1000)
    if candidate.target_result == RESULT_CLICK:
        return _exact(candidate.p_click)
    if candidate.target_result == RESULT_VIEW_2S:
        return _exact(candidate.p_view_2s)
    return _exact(candidate.p_conversion)


def bid_per_event(candidate: Candidate) -> Fraction:
    """The bid in micros per billing event (exact)."""
    if candidate.strategy == CPM:
        return Fraction(candidate.bid_micros, 1000)
    if candidate.strategy == TARGET_COST:
        return candidate.bid_micros * result_rate(candidate)
    return Fraction(candidate.bid_micros)


def _ppb(x: float) -> int:
    return round(x * PPB)


def score(candidate: Candidate) -> int:
    """The expected value per impression x 10^21, as an exact integer (ranking compares
    integers: Fractions cost ~100x more): bid x P(billing event | impression) in parts per
    billion (a CPM bid's 1/1000 is 10^6) x quality in parts per billion x 1000."""
    s = candidate.strategy
    if s == CPM:
        rate = PPB // 1000
    elif s == CPC:
        rate = _ppb(candidate.p_click)
    elif s == CPV:
        rate = _ppb(candidate.p_view_2s)
    elif candidate.target_result == RESULT_IMPRESSION:
        rate = PPB // 1000
    elif candidate.target_result == RESULT_CLICK:
        rate = _ppb(candidate.p_click)
    elif candidate.target_result == RESULT_VIEW_2S:
        rate = _ppb(candidate.p_view_2s)
    else:
        rate = _ppb(candidate.p_conversion)
    return candidate.bid_micros * rate * _ppb(candidate.quality) * 1000


SCORE_SCALE = 10**21


def value_per_impression(candidate: Candidate) -> Fraction:
    """Expected value to the platform and the user of one impression, in micros."""
    return Fraction(score(candidate), SCORE_SCALE)


def _tie_break(auction_id: str, ad_id: int) -> bytes:
    return hashlib.blake2b(f"{auction_id}:{ad_id}".encode(), digest_size=8).digest()


def _rank(
    candidates: list[Candidate], *, auction_id: str, reserve_cpm_micros: int, validated: bool
) -> tuple[list[tuple[int, Candidate]], tuple[int, ...], int]:
    """The entrants best first (score, candidate), the ads below the reserve, and the
    reserve as a score."""
    if type(reserve_cpm_micros) is not int or reserve_cpm_micros < 0:
        raise AuctionInputError("the reserve must be a non-negative int")
    seen: set[int] = set()
    for candidate in candidates:
        if not validated:
            candidate.validate()
        if candidate.ad_id in seen:
            raise AuctionInputError(f"ad {candidate.ad_id} entered twice")
        seen.add(candidate.ad_id)
    reserve = reserve_cpm_micros * 10**18  # per impression, as a score
    scored = [(score(c), c) for c in candidates]
    entrants = [(v, c) for v, c in scored if v > 0 and v >= reserve]
    below = tuple(sorted(c.ad_id for v, c in scored if not (v > 0 and v >= reserve)))
    # Best value first; among equals, a per-auction hash order (fair, and replayable). The
    # same order as sorting on (-value, hash), with a hash only for values that tie.
    entrants.sort(key=lambda vc: -vc[0])
    start = 0
    while start < len(entrants):
        end = start + 1
        while end < len(entrants) and entrants[end][0] == entrants[start][0]:
            end += 1
        if end - start > 1:
            entrants[start:end] = sorted(
                entrants[start:end], key=lambda vc: _tie_break(auction_id, vc[1].ad_id)
            )
        start = end
    return entrants, below, reserve


def _placement(
    position: int, entrants: list[tuple[int, Candidate]], index: int, reserve: int
) -> Placement:
    """The placement of `entrants[index]` at `position`, priced by the entrant below it.
    In integers (the same exact rationals as `bid_per_event`, `billing_rate` and `_exact`,
    without Fraction objects: serving prices every winner its budget refuses too):
    value = bid per event x rate x quality, so the least bid per event keeping the value at
    the threshold is threshold / (rate x quality), rounded up, capped at the bid."""
    value, candidate = entrants[index]
    threshold = max(entrants[index + 1][0] if index + 1 < len(entrants) else reserve, reserve)
    strategy = candidate.strategy
    bid = candidate.bid_micros
    # The bid per billing event as num / den (bid_per_event's value).
    if strategy == CPM:
        num, den = bid, 1000
    elif strategy == TARGET_COST:
        result = candidate.target_result
        if result == RESULT_IMPRESSION:
            num, den = bid, 1000
        else:
            rate_of = {RESULT_CLICK: candidate.p_click, RESULT_VIEW_2S: candidate.p_view_2s}
            num, den = bid * _ppb(rate_of.get(result, candidate.p_conversion)), PPB
    else:
        num, den = bid, 1
    ceiling = num // den
    # rate x quality = rate_ppb x quality_ppb / PPB^2 (CPC, CPV) or quality_ppb / PPB.
    quality = _ppb(candidate.quality)
    if strategy == CPC:
        rate_num, rate_den = _ppb(candidate.p_click) * quality, PPB * PPB
    elif strategy == CPV:
        rate_num, rate_den = _ppb(candidate.p_view_2s) * quality, PPB * PPB
    else:
        rate_num, rate_den = quality, PPB
    # threshold / SCORE_SCALE / (rate_num / rate_den), rounded up (no rate: the bid)
    needed = -(-(threshold * rate_den) // (SCORE_SCALE * rate_num)) if rate_num else -(-num // den)
    price = min(needed, ceiling)
    return Placement(
        position=position,
        ad_id=candidate.ad_id,
        ad_group_id=candidate.ad_group_id,
        campaign_id=candidate.campaign_id,
        billing_event=BILLING_EVENT[strategy],
        price_micros=max(price, 0),
        bid_per_event_micros=ceiling,
        value_micros=value / SCORE_SCALE,
    )


def run(
    candidates: list[Candidate],
    *,
    auction_id: str,
    reserve_cpm_micros: int = 0,
    slots: int = 1,
    validated: bool = False,
) -> Outcome:
    """Rank and price. `reserve_cpm_micros` is the least expected value per 1,000
    impressions an ad must bring to be shown at all (and the floor of the last price).
    `validated`: every candidate's `validate()` already passed (serving builds and checks
    each once per inventory snapshot, not per auction); replay always checks."""
    if slots < 1:
        raise AuctionInputError("slots must be at least 1")
    entrants, below, reserve = _rank(
        candidates,
        auction_id=auction_id,
        reserve_cpm_micros=reserve_cpm_micros,
        validated=validated,
    )
    return Outcome(
        placements=tuple(
            _placement(position, entrants, position, reserve)
            for position in range(min(slots, len(entrants)))
        ),
        ranked=tuple(c.ad_id for _, c in entrants),
        below_reserve=below,
    )


def run_until(
    candidates: list[Candidate],
    *,
    auction_id: str,
    accept: Callable[[Placement, Candidate], bool],
    reserve_cpm_micros: int = 0,
    validated: bool = False,
) -> tuple[Outcome, list[Candidate]]:
    """One slot's auction in which a winner that `accept` refuses (its budget cannot take
    its price) leaves and the auction runs again without it: the same as `run` over the
    candidates left with the same auction id, ranked once (taking out a better-ranked ad
    changes neither the others' order, ties included, nor anyone's price: a price depends
    only on the entrant below). Returns that outcome and the candidates left, in their
    order: their record replays identically."""
    entrants, below, reserve = _rank(
        candidates,
        auction_id=auction_id,
        reserve_cpm_micros=reserve_cpm_micros,
        validated=validated,
    )
    for index in range(len(entrants)):
        placement = _placement(0, entrants, index, reserve)
        if accept(placement, entrants[index][1]):
            refused = {c.ad_id for _, c in entrants[:index]}
            outcome = Outcome(
                placements=(placement,),
                ranked=tuple(c.ad_id for _, c in entrants[index:]),
                below_reserve=below,
            )
            return outcome, [c for c in candidates if c.ad_id not in refused]
    refused = {c.ad_id for _, c in entrants}
    left = [c for c in candidates if c.ad_id not in refused]
    return Outcome(placements=(), ranked=(), below_reserve=below), left


# --- the record -------------------------------------------------------------------------


def record(
    candidates: list[Candidate],
    outcome: Outcome,
    *,
    auction_id: str,
    reserve_cpm_micros: int,
    slots: int = 1,
    context: dict[str, Any] | None = None,
) -> AuctionRecord:
    return AuctionRecord(
        auction_id=auction_id,
        reserve_cpm_micros=reserve_cpm_micros,
        slots=slots,
        candidates=[dict(c.__dict__) for c in candidates],
        outcome=outcome_to_dict(outcome),
        context=dict(context or {}),
    )


def outcome_to_dict(outcome: Outcome) -> dict[str, Any]:
    return {
        "placements": [dict(p.__dict__) for p in outcome.placements],
        "ranked": list(outcome.ranked),
        "below_reserve": list(outcome.below_reserve),
    }


def replay(rec: AuctionRecord) -> dict[str, Any]:
    """Run a logged auction again from its inputs; the caller compares with rec.outcome."""
    if rec.version != ALGORITHM_VERSION:
        raise AuctionInputError(
            f"record of auction version {rec.version}, this is {ALGORITHM_VERSION}"
        )
    candidates = [Candidate(**c) for c in rec.candidates]
    outcome = run(
        candidates,
        auction_id=rec.auction_id,
        reserve_cpm_micros=rec.reserve_cpm_micros,
        slots=rec.slots,
    )
    return outcome_to_dict(outcome)


def replays_identically(rec: AuctionRecord) -> bool:
    return replay(rec) == rec.outcome
