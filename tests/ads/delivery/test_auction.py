"""The auction: ranking by expected value, generalised second price, the reserve, the
target-cost strategy, and offline replay. Expected answers are computed by hand in the
comments."""

from __future__ import annotations

import json
import random
from dataclasses import replace
from fractions import Fraction
from typing import Any

import pytest

from apps.ads.delivery import auction
from apps.ads.delivery.auction import Candidate


def cand(ad_id: int, strategy: str, bid: int, **kw: Any) -> Candidate:
    fields: dict[str, Any] = {"p_click": 0.01, "p_view_2s": 0.3, "quality": 1.0}
    fields.update(kw)
    return Candidate(
        ad_id=ad_id,
        ad_group_id=ad_id * 10,
        campaign_id=ad_id * 100,
        strategy=strategy,
        bid_micros=bid,
        **fields,
    )  # type: ignore[arg-type]


def test_cpm_second_price() -> None:
    # $10, $8 and $5 CPM: values 10,000, 8,000 and 5,000 micros per impression.
    # The winner pays the runner-up's 8,000 micros per impression.
    out = auction.run(
        [cand(1, "cpm", 10_000_000), cand(2, "cpm", 8_000_000), cand(3, "cpm", 5_000_000)],
        auction_id="a",
    )
    (win,) = out.placements
    assert (win.ad_id, win.billing_event, win.price_micros) == (1, "impression", 8_000)
    assert out.ranked == (1, 2, 3)


def test_mixed_strategies_rank_by_expected_value_and_pay_in_their_own_event() -> None:
    # A: CPC $0.50 x pCTR 0.02 = 10,000/imp. B: CPM $6 = 6,000/imp.
    # C: CPV $0.05 x p2s 0.3 x quality 0.5 = 7,500/imp.  Order A, C, B.
    a = cand(1, "cpc", 500_000, p_click=0.02)
    b = cand(2, "cpm", 6_000_000)
    c = cand(3, "cpv2s", 50_000, p_view_2s=0.3, quality=0.5)
    out = auction.run([b, c, a], auction_id="x", slots=2)
    first, second = out.placements
    # A keeps its rank at 7,500 / 0.02 = 375,000 micros per click.
    assert (first.ad_id, first.billing_event, first.price_micros) == (1, "click", 375_000)
    # C keeps its rank at 6,000 / (0.3 x 0.5) = 40,000 micros per 2-second view.
    assert (second.ad_id, second.billing_event, second.price_micros) == (3, "view_2s", 40_000)
    assert out.ranked == (1, 3, 2)


def test_the_reserve_prices_a_lone_bidder_and_keeps_out_the_low_ones() -> None:
    # Reserve $2 CPM = 2,000 micros per impression. $1.5 CPM (1,500/imp) stays out.
    out = auction.run(
        [cand(1, "cpm", 10_000_000), cand(2, "cpm", 1_500_000)],
        auction_id="r",
        reserve_cpm_micros=2_000_000,
    )
    (win,) = out.placements
    assert (win.ad_id, win.price_micros) == (1, 2_000)
    assert out.below_reserve == (2,)
    assert (
        auction.run(
            [cand(2, "cpm", 1_500_000)], auction_id="r", reserve_cpm_micros=2_000_000
        ).placements
        == ()
    )


def test_target_cost_bids_from_the_predicted_rate() -> None:
    # Target $2 per click at pCTR 0.01 bids 20,000 micros per impression; against a $12
    # CPM (12,000/imp) it wins and pays 12,000 per impression.
    target = cand(1, "target_cost", 2_000_000, p_click=0.01, target_result="click")
    out = auction.run([target, cand(2, "cpm", 12_000_000)], auction_id="t")
    (win,) = out.placements
    assert (win.ad_id, win.billing_event, win.price_micros) == (1, "impression", 12_000)
    assert win.bid_per_event_micros == 20_000
    # With a lower predicted rate (0.005: 10,000/imp) the same target loses to the CPM.
    lower = replace(target, p_click=0.005)
    assert auction.run([lower, cand(2, "cpm", 12_000_000)], auction_id="t").ranked == (2, 1)
    # Aiming at 2-second views (target $0.05, p2s 0.4 = 20,000/imp) works the same way.
    views = cand(3, "target_cost", 50_000, p_view_2s=0.4, target_result="view_2s")
    assert auction.bid_per_event(views) == 20_000


def test_quality_can_reverse_the_bids() -> None:
    # A bids $10 CPM at quality 0.5 (5,000/imp); B bids $6 at quality 1 (6,000/imp).
    # B wins and pays 5,000 / 1 = 5,000 per impression, below its 6,000.
    out = auction.run(
        [cand(1, "cpm", 10_000_000, quality=0.5), cand(2, "cpm", 6_000_000)], auction_id="q"
    )
    (win,) = out.placements
    assert (win.ad_id, win.price_micros) == (2, 5_000)


def test_prices_round_up_to_the_micro_but_never_above_the_bid() -> None:
    # CPC: A 100,000 x pCTR 0.03 = 3,000/imp; B CPM 2,000,001 → 2,000.001/imp.
    # A needs 2,000.001 / 0.03 = 66,666.7 micros per click → 66,667.
    out = auction.run(
        [cand(1, "cpc", 100_000, p_click=0.03), cand(2, "cpm", 2_000_001)], auction_id="p"
    )
    assert out.placements[0].price_micros == 66_667
    # A tie: the winner pays exactly its bid, not a micro more.
    tie = auction.run([cand(1, "cpm", 3_000_000), cand(2, "cpm", 3_000_000)], auction_id="z")
    assert tie.placements[0].price_micros == 3_000


def test_ties_are_broken_fairly_and_the_same_way_on_replay() -> None:
    winners = {
        auction.run([cand(1, "cpm", 3_000_000), cand(2, "cpm", 3_000_000)], auction_id=str(n))
        .placements[0]
        .ad_id
        for n in range(50)
    }
    assert winners == {1, 2}
    once = auction.run([cand(1, "cpm", 3_000_000), cand(2, "cpm", 3_000_000)], auction_id="7")
    again = auction.run([cand(2, "cpm", 3_000_000), cand(1, "cpm", 3_000_000)], auction_id="7")
    assert once == again


def test_the_ranking_is_value_then_the_auctions_hash_with_many_ties() -> None:
    """The ranking hashes only tied values; it must be the order of (-value, hash)."""
    rng = random.Random(5)
    for n in range(300):
        cands = [
            cand(i, rng.choice(["cpm", "cpc"]), rng.choice([1_000_000, 2_000_000, 3_000_000]),
                 p_click=rng.choice([0.001, 0.002]))
            for i in range(1, rng.randint(2, 30))
        ]
        out = auction.run(cands, auction_id=f"t{n}")
        expected = sorted(
            cands, key=lambda c: (-auction.score(c), auction._tie_break(f"t{n}", c.ad_id))
        )
        assert list(out.ranked) == [c.ad_id for c in expected]


def _random_candidates(rng: random.Random, n: int) -> list[Candidate]:
    out = []
    for ad_id in range(1, n + 1):
        strategy = rng.choice(auction.STRATEGIES)
        bid = {
            "cpm": rng.randint(500_000, 20_000_000),
            "cpc": rng.randint(50_000, 2_000_000),
            "cpv2s": rng.randint(5_000, 100_000),
            "target_cost": rng.randint(100_000, 5_000_000),
        }[strategy]
        out.append(
            Candidate(
                ad_id=ad_id,
                ad_group_id=ad_id,
                campaign_id=ad_id,
                strategy=strategy,
                bid_micros=bid,
                p_click=rng.uniform(0.001, 0.05),
                p_view_2s=rng.uniform(0.05, 0.6),
                p_conversion=rng.uniform(0.0, 0.005),
                quality=rng.uniform(0.2, 1.0),
                target_result=rng.choice(auction.RESULTS) if strategy == "target_cost" else "",
            )
        )
    return out


def test_gsp_properties_on_random_auctions() -> None:
    rng = random.Random(19)
    for n in range(2000):
        cands = _random_candidates(rng, rng.randint(1, 12))
        reserve = rng.choice([0, 500_000, 2_000_000])
        out = auction.run(cands, auction_id=str(n), reserve_cpm_micros=reserve, slots=2)
        by_id = {c.ad_id: c for c in cands}
        values = [auction.value_per_impression(by_id[i]) for i in out.ranked]
        assert values == sorted(values, reverse=True)
        for p in out.placements:
            c = by_id[p.ad_id]
            per_event = auction.bid_per_event(c)
            assert p.price_micros <= per_event  # never above the bid
            rate = auction.billing_rate(c) * auction._exact(c.quality)
            nxt = (
                auction.value_per_impression(by_id[out.ranked[p.position + 1]])
                if p.position + 1 < len(out.ranked)
                else Fraction(0)
            )
            floor = max(nxt, Fraction(reserve, 1000))
            if p.price_micros < int(per_event):  # not clamped by the bid
                assert p.price_micros * rate >= floor  # keeps its rank
                assert (p.price_micros - 1) * rate < floor  # and is the least that does


def test_a_logged_auction_replays_to_the_same_outcome_from_json() -> None:
    rng = random.Random(7)
    for n in range(200):
        cands = _random_candidates(rng, 8)
        out = auction.run(cands, auction_id=f"log{n}", reserve_cpm_micros=1_000_000)
        rec = auction.record(
            cands, out, auction_id=f"log{n}", reserve_cpm_micros=1_000_000, context={"position": 6}
        )
        offline = auction.AuctionRecord.from_dict(json.loads(json.dumps(rec.to_dict())))
        assert auction.replays_identically(offline)
        assert offline.outcome == auction.outcome_to_dict(out)
    # A record whose outcome was changed (a higher price logged) does not replay.
    cands = [cand(1, "cpm", 10_000_000), cand(2, "cpm", 8_000_000)]
    out = auction.run(cands, auction_id="t")
    tampered = auction.record(cands, out, auction_id="t", reserve_cpm_micros=0).to_dict()
    tampered["outcome"]["placements"][0]["price_micros"] += 1
    assert not auction.replays_identically(auction.AuctionRecord.from_dict(tampered))


@pytest.mark.parametrize(
    "bad",
    [
        {"bid_micros": 0},
        {"bid_micros": -5},
        {"bid_micros": 1.5},
        {"p_click": 1.5},
        {"p_view_2s": -0.1},
        {"quality": 0.0},
        {"quality": 2.0},
        {"strategy": "free"},
        {"strategy": "target_cost", "target_result": ""},
    ],
)
def test_bad_candidates_are_refused(bad: dict[str, object]) -> None:
    with pytest.raises(auction.AuctionInputError):
        auction.run([replace(cand(1, "cpm", 1_000_000), **bad)], auction_id="b")  # type: ignore[arg-type]


def test_an_ad_cannot_enter_twice() -> None:
    with pytest.raises(auction.AuctionInputError, match="twice"):
        auction.run([cand(1, "cpm", 1_000_000), cand(1, "cpc", 1_000_000)], auction_id="d")


def test_running_until_a_winner_is_accepted_is_the_auction_without_the_refused() -> None:
    """`run_until` (serving's slot: a winner whose budget cannot take its price leaves)
    gives exactly `run` over the candidates left, same auction id, ties included; the
    record of what is left replays."""
    rng = random.Random(23)
    for n in range(1500):
        cands = _random_candidates(rng, rng.randint(1, 14))
        if n % 3 == 0:  # ties: copies of one value under other ids
            cands += [replace(cands[0], ad_id=100 + k, ad_group_id=100 + k) for k in range(3)]
        refused = {c.ad_id for c in cands if rng.random() < 0.5}
        reserve = rng.choice([0, 500_000])
        outcome, left = auction.run_until(
            cands,
            auction_id=f"u{n}",
            accept=lambda p, c, refused=refused: c.ad_id not in refused,  # type: ignore[misc]
            reserve_cpm_micros=reserve,
        )
        assert outcome == auction.run(left, auction_id=f"u{n}", reserve_cpm_micros=reserve)
        # What left: the refused entrants ranked above the first accepted one, nothing else.
        full = auction.run(cands, auction_id=f"u{n}", reserve_cpm_micros=reserve).ranked
        first = next((i for i, ad in enumerate(full) if ad not in refused), len(full))
        assert [c.ad_id for c in left] == [c.ad_id for c in cands if c.ad_id not in full[:first]]
        if first < len(full):
            assert outcome.placements[0].ad_id == full[first]
        else:
            assert outcome.placements == ()


def test_prices_in_integers_equal_the_exact_fractions() -> None:
    """`_placement` prices in integers; the same as the exact-fraction formula."""
    import math

    rng = random.Random(41)
    for n in range(3000):
        cands = _random_candidates(rng, rng.randint(1, 8))
        reserve = rng.choice([0, 500_000, 2_000_000])
        out = auction.run(cands, auction_id=str(n), reserve_cpm_micros=reserve, slots=3)
        by_id = {c.ad_id: c for c in cands}
        for p in out.placements:
            c = by_id[p.ad_id]
            nxt = (auction.score(by_id[out.ranked[p.position + 1]])
                   if p.position + 1 < len(out.ranked) else 0)
            threshold = Fraction(max(nxt, reserve * 10**18), auction.SCORE_SCALE)
            per_event = auction.bid_per_event(c)
            rate = auction.billing_rate(c) * auction._exact(c.quality)
            needed = threshold / rate if rate else per_event
            assert p.price_micros == max(min(math.ceil(needed), math.floor(per_event)), 0)
            assert p.bid_per_event_micros == math.floor(per_event)
