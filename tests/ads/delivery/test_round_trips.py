"""The ad decision's Redis round trips: a page reads pacing and the viewer's caps in one
MGET (the auction log's due records ride along), and commits its winner's cap and budget in
one pipeline, undoing the half that said yes when the other said no."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.test import override_settings

from apps.ads.delivery import auctionlog, budget, caps, pacing, redis_client, serve, snapshot
from apps.ads.selectors import ServableAd
from apps.ads.targeting import Targeting, Viewer
from apps.core import redis_health
from apps.experiments.config import Snapshot
from apps.experiments.evaluation import Evaluation
from apps.experiments.rules import Unit
from apps.feed import hooks

NOON = datetime(2026, 12, 6, 12, tzinfo=UTC)
VIEWER = "u:77"


def _trips(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every round trip to Redis from here on: a command, or a whole pipeline."""
    seen: list[str] = []
    command = redis_health.GuardedRedis.execute_command
    execute = redis_health.GuardedPipeline.execute

    def one_command(self: Any, *args: Any, **options: Any) -> Any:
        seen.append(str(args[0]))
        return command(self, *args, **options)

    def pipeline(self: Any, raise_on_error: bool = True) -> Any:
        seen.append("pipeline:" + ",".join(str(c[0][0]) for c in self.command_stack))
        return execute(self, raise_on_error)

    monkeypatch.setattr(redis_health.GuardedRedis, "execute_command", one_command)
    monkeypatch.setattr(redis_health.GuardedPipeline, "execute", pipeline)
    return seen


def test_commit_holds_cap_and_budget_together_or_neither() -> None:
    capped = caps.Cap(5, 1, None)
    # Both free: one round trip takes the cap and holds the expected cost.
    assert serve._commit(
        VIEWER, capped, campaign_id=9, budget_micros=10_000, cost=300, now=NOON
    )
    assert caps.under_caps(VIEWER, [capped], now=NOON) == set()
    assert pacing.states({9: 10_000}, now=NOON)[9].in_flight_micros == 300
    # The cap is full (another page took it since this page read it): the budget's hold
    # is given back.
    assert not serve._commit(
        VIEWER, capped, campaign_id=9, budget_micros=10_000, cost=200, now=NOON
    )
    assert pacing.states({9: 10_000}, now=NOON)[9].in_flight_micros == 300
    # The budget refuses (its expected cost does not fit): the cap's count is given back.
    other = caps.Cap(6, 2, 5)
    assert not serve._commit(VIEWER, other, campaign_id=10, budget_micros=100, cost=101, now=NOON)
    day_key, week_key = caps.keys_for(VIEWER, 6, NOON)
    assert [int(v or 0) for v in redis_client.client().mget([day_key, week_key])] == [0, 0]
    assert pacing.states({10: 100}, now=NOON)[10].in_flight_micros == 0


def test_a_script_redis_does_not_know_is_loaded_and_run() -> None:
    fresh = redis_client.client().register_script(f"return {int(time.time_ns() % 10**9)}")
    known = pacing.admit_script()
    keys, args = pacing.admit_call(campaign_id=3, budget_micros=1_000, cost_micros=10, now=NOON)
    result = redis_client.run_scripts([(fresh, [], []), (known, keys, args)])
    assert result[0] == int(str(fresh.script).split()[1])
    assert result[1][0] == 1
    held = redis_client.client().get(budget.flight_key(3, "20261206", budget.minute_of(NOON)))
    assert int(str(held)) == 10


def _ad(i: int) -> ServableAd:
    return ServableAd(
        ad_id=i,
        ad_group_id=i,
        campaign_id=i,
        org_id=1,
        asset_id=i,
        name=f"ad {i}",
        display_name=f"Brand {i}",
        cta="learn_more",
        landing_url="https://example.com/",
        restricted_category="",
        objective="traffic",
        bid_strategy="cpm",
        bid_micros=1_000_000 + 10_000 * i,
        target_cost_micros=None,
        frequency_cap_day=2 if i % 2 else None,
        frequency_cap_week=None,
        inventory_tier="standard",
        budget_kind="daily",
        budget_micros=10**12,
        currency="USD",
        timezone="UTC",
        hours_of_week=(),
        targeting=Targeting(),
    )


@pytest.fixture
def twenty_live_ads() -> Iterator[None]:
    ads = [_ad(i) for i in range(1, 21)]
    serve._inventory = snapshot.Inventory(
        ads,
        {a.asset_id: {"hls": "https://cdn.example/x.m3u8"} for a in ads},
        {a.campaign_id: a.budget_micros for a in ads},
        snapshot.LoadSettings(enabled=True, min_gap=6, max_gap=6, reserve_cpm_micros=0),
        time.monotonic() + 3600,  # fresh for the test's duration
    )
    serve._viewers[(77, "US", "en", "ios", "")] = (
        time.monotonic() + 3600,
        Viewer(user_id=77, age=30, country="US", language="en", device="ios"),
    )
    auctionlog.flush()
    redis_client.client().delete(auctionlog.KEY)
    yield
    serve.forget()
    auctionlog.flush()


def _page(n: int) -> hooks.AdSlotRequest:
    user: Any = type("U", (), {"pk": 77, "is_authenticated": True})()
    posts = tuple(hooks.AdSlotPost(post_id=p, sensitive=False, hashtags=()) for p in range(8))
    return hooks.AdSlotRequest(
        user=user,
        session_id=None,
        posts=posts,
        since_last_ad=0,
        gap=6,
        position_offset=8 * n,
        request_id=f"r{n}",
        country="US",
        language="en",
        device="ios",
        flags=Evaluation(Unit(user_id=77), snapshot=Snapshot(stamp="test")),
    )


@pytest.mark.django_db
@override_settings(SWIPEME_ADS_STATES_TTL=3600.0)  # pacing's states: read by the first page
def test_a_page_with_an_ad_costs_two_round_trips_and_the_log_rides_along(
    twenty_live_ads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.ads.delivery import predict

    predict.current()  # the predictor's table read (once per minute per process) first
    # Redis may not know the scripts yet: the first page loads them (NoScriptError, then
    # SCRIPT LOAD and the call again) and still serves its ad.
    answer = serve.fill_ad_slots(request=_page(0))
    assert answer is not None
    assert len(answer.ads) == 1
    trips = _trips(monkeypatch)
    pages = auctionlog.FLUSH_EVERY + 2
    served = [answer.ads[0][1]["id"]]
    for n in range(1, pages):
        before = len(trips)
        answer = serve.fill_ad_slots(request=_page(n))
        assert answer is not None
        assert len(answer.ads) == 1
        served.append(answer.ads[0][1]["id"])
        # Read (the caps' MGET, with the log's due records; pacing's states are the
        # process's, fresh), commit.
        assert len(trips) - before == 2, trips[before:]
        assert trips[before] in ("pipeline:MGET", "pipeline:RPUSH,LTRIM,MGET")
        assert trips[before + 1].startswith(("pipeline:EVALSHA", "pipeline:RPUSH,LTRIM,EVALSHA"))
    # Caps held across pages: each capped group (odd ids, 2 a day) served at most twice.
    for ad_id in {s for s in served if int(s) % 2}:
        assert served.count(ad_id) <= 2
    # Every auction logged; the log went out inside pages' read or commit pipelines, never
    # on its own
    # (one push per FLUSH_EVERY records, or sooner when FLUSH_SECONDS pass on a slow run).
    pushes = [t for t in trips if "RPUSH" in t]
    assert pushes
    assert all(
        t == "pipeline:RPUSH,LTRIM,MGET" or t.startswith("pipeline:RPUSH,LTRIM,EVALSHA")
        for t in pushes
    )
    records = auctionlog.read(1000)
    assert len(records) + len(auctionlog._buffer) == pages
    assert auctionlog.replay(records)["identical"] == len(records)


def _serve_pages(n: int, trips: list[str]) -> list[list[str]]:
    """Each page's round trips."""
    out = []
    for i in range(n):
        before = len(trips)
        answer = serve.fill_ad_slots(request=_page(i))
        assert answer is not None
        assert len(answer.ads) == 1
        out.append(trips[before:])
    return out


@pytest.mark.django_db
def test_pacings_states_are_read_again_after_their_ttl_and_every_page_without_one(
    twenty_live_ads: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.ads.delivery import predict

    predict.current()
    assert serve.fill_ad_slots(request=_page(0)) is not None  # scripts loaded
    trips = _trips(monkeypatch)
    with override_settings(SWIPEME_ADS_STATES_TTL=0):  # the states on every page
        for page in _serve_pages(3, trips):
            assert page[0].endswith("EVALSHA,MGET"), page
    with override_settings(SWIPEME_ADS_STATES_TTL=3600.0):
        serve._states.clear()
        first, *rest = _serve_pages(4, trips)
        assert first[0].endswith("EVALSHA,MGET")  # nothing cached: read
        assert all(page[0].endswith(":MGET") and "EVALSHA" not in page[0] for page in rest)
        # A page of the next day (or past the TTL) reads them again. (The pages ran on the
        # real clock: NOON's next day was within the TTL of it on 7 December 11:00-12:00.)
        stored = max(hit[0] for hit in serve._states._seen.values())
        next_day = datetime.fromtimestamp(stored, UTC) + timedelta(days=1)
        tomorrow = serve._states.stale({1: 10**12}, now=next_day, ttl=3600.0)
        assert tomorrow == [1]


@pytest.mark.django_db
def test_a_page_of_uncapped_ads_with_fresh_states_costs_one_round_trip(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from dataclasses import replace

    from apps.ads.delivery import predict

    ads = [replace(_ad(i), frequency_cap_day=None) for i in range(1, 11)]
    serve._inventory = snapshot.Inventory(
        ads,
        {a.asset_id: {"hls": "https://cdn.example/x.m3u8"} for a in ads},
        {a.campaign_id: a.budget_micros for a in ads},
        snapshot.LoadSettings(enabled=True, min_gap=6, max_gap=6, reserve_cpm_micros=0),
        time.monotonic() + 3600,
    )
    serve._viewers[(77, "US", "en", "ios", "")] = (
        time.monotonic() + 3600,
        Viewer(user_id=77, age=30, country="US", language="en", device="ios"),
    )
    try:
        predict.current()
        with override_settings(SWIPEME_ADS_STATES_TTL=3600.0):
            assert serve.fill_ad_slots(request=_page(0)) is not None
            auctionlog.flush()
            redis_client.client().delete(auctionlog.KEY)
            trips = _trips(monkeypatch)
            pages = _serve_pages(auctionlog.FLUSH_EVERY + 2, trips)
        # Only the commit, the log's due records riding along in it.
        assert all(len(page) == 1 for page in pages), pages
        commits = [page[0] for page in pages]
        assert set(commits) == {"pipeline:EVALSHA", "pipeline:RPUSH,LTRIM,EVALSHA"}
        records = auctionlog.read(1000)
        assert len(records) + len(auctionlog._buffer) == auctionlog.FLUSH_EVERY + 2
        assert auctionlog.replay(records)["identical"] == len(records) > 0
    finally:
        serve.forget()
        auctionlog.flush()


def test_admission_refreshes_the_winners_cached_state() -> None:
    cache = pacing.StateCache()
    cache.store({9: 10_000, 10: 5_000}, b"100 20 0 0", now=NOON)
    assert cache.stale({9: 10_000, 10: 5_000}, now=NOON, ttl=1.0) == []
    assert cache.stale({9: 20_000}, now=NOON, ttl=1.0) == [9]  # the budget changed
    cache.admitted(9, 700)  # admission saw spent + in flight = 700 (with this ad's cost)
    state = cache.states({9: 10_000, 10: 5_000}, now=NOON)[9]
    assert (state.spent_micros, state.in_flight_micros, state.committed) == (100, 600, 700)
    assert state.allowance_micros == pacing.allowance(10_000, NOON)


def test_eligibility_and_candidates_are_worked_out_once_per_snapshot_and_kind_of_viewer() -> None:
    """`snapshot.eligible` caches the contextual matches per (country, language, age band,
    device, adulthood, personalisable, quarter hour) and matches personal groups per viewer;
    whatever the cache, the answer is the one rule's (`targeting.viewer_matches`).
    `snapshot.candidates` predicts and validates the snapshot once per kind of viewer."""
    from dataclasses import replace

    from apps.ads.delivery import auction, predict
    from apps.ads.targeting import viewer_matches

    ads = [
        _ad(1),
        replace(_ad(2), targeting=Targeting(interests=("food",))),
        replace(_ad(3), targeting=Targeting(countries=("FR",))),
        replace(_ad(4), restricted_category="alcohol", targeting=Targeting(age_bands=("25-34",))),
        replace(_ad(5), targeting=Targeting(topics=("food",))),
        replace(_ad(6), bid_micros=None),  # no bid: never a candidate
    ]
    inv = snapshot.Inventory(
        ads, {}, {a.campaign_id: 1 for a in ads}, snapshot.LoadSettings(True, 6, 6, 0), 0.0
    )
    base = {"age": 30, "country": "US", "language": "en", "device": "ios"}
    foodie = Viewer(user_id=1, interests=frozenset({"food"}), **base)  # type: ignore[arg-type]
    other = Viewer(user_id=2, interests=frozenset({"cars"}), **base)  # type: ignore[arg-type]
    minor = Viewer(user_id=3, **{**base, "age": 15})  # type: ignore[arg-type]
    signed_out = Viewer(country="US", language="en", device="web")
    expected = {foodie: {1, 2, 4, 5, 6}, other: {1, 4, 5, 6}, minor: {1, 5, 6},
                signed_out: {1, 5, 6}}
    for _ in range(2):  # worked out, then from the cache
        for viewer, ids in expected.items():
            found = {a.ad_id for a in snapshot.eligible(inv, viewer, NOON)}
            rule = {
                a.ad_id
                for a in ads
                if viewer_matches(a.targeting, viewer, restricted_category=a.restricted_category)
            }
            assert found == rule == ids
    assert len(inv.eligible) == 3  # the two adults share a key; their personal ads differ
    predict._current, predict._checked_at = predict.Predictor(None), time.monotonic() + 3600
    try:
        cands = snapshot.candidates(inv, foodie)
        assert snapshot.candidates(inv, other) is cands  # same age band, signed in
        assert snapshot.candidates(inv, signed_out) is not cands
        assert set(cands) == {1, 2, 3, 4, 5}
        preds = predict.current().predict([2], age_band="25-34", signed_in=True)
        assert cands[2] == snapshot.candidate(
            ads[1], preds.p_click[0], preds.p_view_2s[0], preds.quality[0]
        )
        for cand in cands.values():
            cand.validate()
        assert isinstance(cands[1], auction.Candidate)
    finally:
        predict.forget()
