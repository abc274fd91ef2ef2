"""Ads delivery under a simulated day (issue 19, "Benchmarks").

    flock /tmp/bench.lock .venv/bin/python bench/ads.py --runs 1 --small     # a minute
    flock /tmp/bench.lock .venv/bin/python bench/ads.py --runs 1             # full size

(a) *A simulated day* against the real Redis (its own logical db, `--redis-db`, emptied
first) with the real pacing (`apps.ads.delivery.pacing`), budgets, frequency caps (Lua)
and auction, through the serving code's own slot commit (`serve._run_slot`: auction,
caps.take and pacing.admit pipelined, retry without a refused winner) and its pre-auction filter
(`serve._read_positions`: pacing's states and the caps in one MGET, `pacing.passes`):
- `--campaigns` (1,000) campaigns of one ad group each: 60 % CPM, 25 % CPC, 15 % cost per
  2-second view; half with a daily frequency cap of 1-4 per user; each targets 2 of 20
  audience segments; bids drawn as a value per 1,000 impressions ($3-6 whatever the
  strategy), so every campaign can win once the ones above it are paced; daily budgets
  buy about a third of the campaign's share of the slots (CPC two thirds), so the day's
  traffic could spend about twice the total (pacing has to hold them back). Campaigns
  whose budget buys fewer than 50 billing events are counted apart (one event is then
  more than 2 % of the budget).
- `--users` (100,000) users in the 20 segments; `--slots` ad slots over the day (the ad
  requests), spread along the diurnal traffic curve (`SWIPEME_ADS_TRAFFIC_CURVE`) with
  bursts: every simulated hour, a random 5 minutes get 6 times the traffic.
- `--workers` (2) processes serve the slots at the same time, minute by minute of the
  simulated clock (a barrier per simulated minute keeps them on the same minute).
- Billing: each served ad's billing event happens with its true rate (CPM: the impression,
  95 % viewable; CPC: a click with the ad's pCTR; CPV: a 2-second view with its p2sView),
  1-30 simulated seconds later, and is charged with `budget.record_spend` (the price from
  the auction, releasing what admission held). The predictions the auction uses are the
  true rates (the predictor's calibration is tested on its own, tests/ads/delivery).
Prints, per campaign, spend / daily budget at the end of the day (worst, median, and how
many ended outside 98-101 %), frequency-cap overshoot (served beyond a cap / served
capped), and charges above their bid (must be 0).

(b) *The ad decision's latency*: `serve.fill_ad_slots` for a For You page (8 organic
posts, a slot due) with `--campaigns` live ads in the process's snapshot, a signed-in
adult (profile cached, as on a warm page), pacing and caps on the real Redis, against the
same page with ads off (the filler answers at once), in the same run: p50 / p99 in ms and
the difference at p99 (goal: < 5 ms).

Figures are per run with the load average before and after (bench/_runs.py).
"""

from __future__ import annotations

import argparse
import heapq
import multiprocessing
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))
sys.path.insert(0, str(BASE_DIR / "bench"))

from _runs import Runs, add_arguments  # noqa: E402

SEGMENTS = 20
DAY = datetime(2026, 12, 7, tzinfo=UTC)  # the simulated day (UTC)


def _setup(redis_db: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")
    os.environ["REDIS_URL"] = f"redis://127.0.0.1:56379/{redis_db}"
    # The hot path's 50 ms timeout is for a quiet production Redis; on this shared, loaded
    # machine the bench allows 1 s and counts the calls that still fail (no ad served).
    os.environ.setdefault("SWIPEME_REDIS_SOCKET_TIMEOUT", "1.0")
    os.environ.setdefault("SWIPEME_REDIS_CONNECT_TIMEOUT", "1.0")
    import django

    django.setup()


# --- (a) the simulated day ----------------------------------------------------------------


def make_campaigns(n: int, slots: int, seed: int) -> list[dict[str, Any]]:
    """A world where every campaign can spend: bids drawn as an expected value per 1,000
    impressions (eCPM $3-6, whatever the strategy: a CPC bid is that value over its pCTR), so
    every campaign wins when the ones above it are paced; budgets sized to buy about a third
    of the campaign's share of the slots (CPC campaigns twice that: their budgets are counted
    in clicks), so the day's traffic could spend about twice the total."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    share = slots / max(1, n)  # slots per campaign (each targets 2 of 20 segments)
    for cid in range(1, n + 1):
        kind = rng.choices(["cpm", "cpc", "cpv2s"], weights=[60, 25, 15])[0]
        p_click = rng.uniform(0.01, 0.04)
        p_view = rng.uniform(0.2, 0.6)
        quality = rng.uniform(0.5, 1.0)
        ecpm = rng.uniform(3_000_000, 6_000_000)  # value per 1,000 impressions, micros
        rate = {"cpm": 0.001, "cpc": p_click, "cpv2s": p_view}[kind]
        bid = round(ecpm / 1000 / rate / quality) if kind != "cpm" else round(ecpm / quality)
        impressions = share * rng.uniform(0.25, 0.45) * (2 if kind == "cpc" else 1)
        # Second prices are about the next value down: ~0.85 of its own value.
        c = {"id": cid, "kind": kind, "bid": bid, "p_click": p_click, "p_view": p_view,
             "quality": quality, "segments": rng.sample(range(SEGMENTS), 2),
             "cap": rng.randint(1, 4) if rng.random() < 0.5 else None}
        budget = int(impressions * ecpm / 1000 * 0.85)
        c["budget"] = budget
        # How many billing events the budget buys (at its bid per event: the fewest): below
        # 50, one event is more than 2 % of the budget and "within 2 %" is out of reach by
        # construction (the last event does not fit).
        c["events"] = budget / (bid / 1000 if kind == "cpm" else bid)
        out.append(c)
    return out


def minute_weights(rng: random.Random, day: datetime = DAY) -> list[float]:
    """Each minute's share of a day's traffic: pacing's curve, plus bursts (5 minutes an
    hour at 6x). Also the pacing-day test's traffic (tests/ads/delivery/test_pacing_day.py)."""
    from apps.ads.delivery import pacing

    weights = []
    for minute in range(1440):
        moment = day + timedelta(minutes=minute)
        # F at the next minute; the day's last minute ends at 1 (F of the next day's 00:00
        # is 0 again: that minute's weight came out negative and inflated the others).
        after = 1.0 if minute == 1439 else pacing.curve_share(moment + timedelta(minutes=1))
        weights.append(max(0.0, after - pacing.curve_share(moment)))
    for hour in range(24):
        for minute in rng.sample(range(60), 5):
            weights[hour * 60 + minute] *= 6  # a burst
    return weights


def slot_minutes(slots: int, seed: int) -> list[int]:
    """How many slots in each simulated minute: the traffic curve, plus bursts."""
    rng = random.Random(seed)
    weights = minute_weights(rng)
    total = sum(weights)
    counts = [int(slots * w / total) for w in weights]
    counts[rng.randrange(1440)] += slots - sum(counts)
    return counts


def _worker(index: int, workers: int, args: argparse.Namespace, campaigns: list[dict[str, Any]],
            minutes: list[int], barrier: Any, results: Any) -> None:
    _setup(args.redis_db)
    import redis

    from apps.ads.delivery import auction, budget, caps, pacing, redis_client, serve

    redis_client.forget()
    errors = 0

    def charge(cid: int, price: int, at: datetime, served_at: datetime, hold: int) -> None:
        nonlocal errors
        for _ in range(5):  # a charge is the record of money: retried, never dropped
            try:
                budget.record_spend(campaign_id=cid, micros=price, at=at, served_at=served_at,
                                    release_micros=hold)
                return
            except redis.RedisError:
                errors += 1
                time.sleep(0.2)
        raise RuntimeError("a charge could not be recorded")

    rng = random.Random(1000 + index)
    by_segment: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c in campaigns:
        for s in c["segments"]:
            by_segment[s].append(c)
    budgets = {c["id"]: c["budget"] for c in campaigns}
    # Made once, not per slot (as serving keeps them per inventory snapshot): each
    # campaign's validated auction candidate and its ad, each segment's caps and budgets.
    candidate_of: dict[int, tuple[Any, auction.Candidate]] = {}
    for c in campaigns:
        cand = auction.Candidate(ad_id=c["id"], ad_group_id=c["id"], campaign_id=c["id"],
                                 strategy=c["kind"], bid_micros=c["bid"], p_click=c["p_click"],
                                 p_view_2s=c["p_view"], quality=c["quality"])
        cand.validate()
        candidate_of[c["id"]] = (SimpleNamespace(ad_group_id=c["id"], campaign_id=c["id"]),
                                 cand)
    # Every segment, also one no campaign targets (a small world can leave one empty:
    # its slots find no candidate and stay empty, as a page with no eligible ad does).
    segment_caps = {s: {c["id"]: caps.Cap(c["id"], c["cap"], None) for c in by_segment[s]}
                    for s in range(SEGMENTS)}
    segment_budgets = {s: {c["id"]: budgets[c["id"]] for c in by_segment[s]}
                       for s in range(SEGMENTS)}
    served: Counter[tuple[int, int]] = Counter()  # (user, campaign) -> ads served today
    over_bid = 0
    charges = 0
    pending: list[tuple[datetime, int, int, int, int, datetime]] = []  # billing events
    served_total = 0
    decide_s = 0.0
    for minute, count in enumerate(minutes):
        now_minute = DAY + timedelta(minutes=minute)
        mine = count // workers + (1 if index < count % workers else 0)
        for k in range(mine):
            now = now_minute + timedelta(seconds=60 * k / max(mine, 1))
            while pending and pending[0][0] <= now:
                at, cid, price, hold, _, served_at = heapq.heappop(pending)
                charge(cid, price, at, served_at, hold)
            user = rng.randrange(args.users)
            segment = user % SEGMENTS
            pool = by_segment[segment]
            viewer_key = f"u:{user}"
            started = time.perf_counter()
            group_caps = segment_caps[segment]
            try:  # one MGET, as serving reads them (with the auction log's due records)
                states, under = serve._read_positions(
                    segment_budgets[segment], viewer_key, list(group_caps.values()), now)
            except redis.RedisError:
                errors += 1  # the page gets no ad, as serving does
                continue
            passing = pacing.passing(states, rng=rng)
            by_id = {c["id"]: candidate_of[c["id"]] for c in pool
                     if c["id"] in passing and (not c["cap"] or c["id"] in under)}
            cands = [cand for _, cand in by_id.values()]
            try:
                won = serve._run_slot(cands, by_id, viewer_key=viewer_key,
                                      group_caps=group_caps, budgets=budgets, reserve=0,
                                      now=now, context={}, validated=True, states=states)
            except redis.RedisError:
                errors += 1
                continue
            decide_s += time.perf_counter() - started
            if won is None:
                continue
            ad, placement, _ = won
            served_total += 1
            served[(user, ad.campaign_id)] += 1
            cand = by_id[ad.campaign_id][1]
            if placement.price_micros > auction.bid_per_event(cand):
                over_bid += 1
            p = serve._billing_probability(cand)
            true_p = 0.95 if cand.strategy == "cpm" else p
            hold = pacing.expected_cost(placement.price_micros, p)
            if rng.random() < true_p:
                charges += 1
                at = now + timedelta(seconds=rng.uniform(1, 30))
                heapq.heappush(pending, (at, ad.campaign_id, placement.price_micros, hold,
                                         served_total, now))
        barrier.wait(timeout=600)
    end = DAY + timedelta(days=1) - timedelta(seconds=1)
    while pending:
        at, cid, price, hold, _, served_at = heapq.heappop(pending)
        charge(cid, price, min(at, end), served_at, hold)
    results.put({"served": dict(served), "over_bid": over_bid, "charges": charges,
                 "served_total": served_total, "decide_s": decide_s, "errors": errors})


def simulate_day(args: argparse.Namespace, run: Any) -> None:
    from apps.ads.delivery import budget, redis_client

    redis_client.client().flushdb()
    campaigns = make_campaigns(args.campaigns, args.slots, seed=args.seed)
    minutes = slot_minutes(args.slots, seed=args.seed)
    ctx = multiprocessing.get_context("fork")
    barrier = ctx.Barrier(args.workers)
    results = ctx.Queue()
    started = time.perf_counter()
    procs = [ctx.Process(target=_worker, args=(i, args.workers, args, campaigns, minutes,
                                               barrier, results))
             for i in range(args.workers)]
    for p in procs:
        p.start()
    outs = [results.get(timeout=3600) for _ in procs]
    for p in procs:
        p.join()
    seconds = time.perf_counter() - started
    spent = budget.spent([c["id"] for c in campaigns], day=DAY)
    ratios = sorted(spent[c["id"]] / c["budget"] for c in campaigns)
    served: Counter[tuple[int, int]] = Counter()
    for out in outs:
        served.update(out["served"])
    caps_of = {c["id"]: c["cap"] for c in campaigns}
    capped_served = sum(n for (u, cid), n in served.items() if caps_of[cid])
    overshoot = sum(max(0, n - caps_of[cid]) for (u, cid), n in served.items() if caps_of[cid])
    served_total = sum(o["served_total"] for o in outs)
    outside = sum(1 for r in ratios if not 0.98 <= r <= 1.01)
    # The goal over campaigns whose budget is at least 50 billing events (one event <= 2 %).
    fine = [spent[c["id"]] / c["budget"] for c in campaigns if c["events"] >= 50]
    coarse = [c for c in campaigns if c["events"] < 50]
    fine_outside = sum(1 for r in fine if not 0.98 <= r <= 1.01)
    coarse_kinds = Counter(c["kind"] for c in coarse)
    print(f"  simulated day: {args.campaigns} campaigns, {args.users} users, "
          f"{args.slots} slots, {args.workers} processes, {seconds:.1f} s")
    print(f"  ads served {served_total}, billed events {sum(o['charges'] for o in outs)}, "
          f"Redis calls failed (slot left empty / charge retried): "
          f"{sum(o['errors'] for o in outs)}")
    print(f"  spend / daily budget: worst low {ratios[0]:.4f}, worst high {ratios[-1]:.4f}, "
          f"median {statistics.median(ratios):.4f}; outside 98-101 %: {outside}")
    if fine:
        print(f"  over the {len(fine)} campaigns with >= 50 billing events of budget: worst low "
              f"{min(fine):.4f}, worst high {max(fine):.4f}, median "
              f"{statistics.median(fine):.4f}; outside 98-101 %: {fine_outside}")
    print(f"  excluded from that figure: {len(coarse)} campaigns whose budget buys < 50 billing "
          f"events (one event > 2 % of it) {dict(coarse_kinds)}; their spend/budget: "
          + ", ".join(f"{spent[c['id']] / c['budget']:.3f}" for c in coarse[:20])
          + (" ..." if len(coarse) > 20 else ""))
    worst = sorted(campaigns, key=lambda c: spent[c["id"]] / c["budget"])[:5]
    print("  lowest five: " + "; ".join(
        f"#{c['id']} {c['kind']} {spent[c['id']] / c['budget']:.3f} of {c['budget']} micros "
        f"({c['events']:.0f} events, cap {c['cap']}, segments {c['segments']})" for c in worst))
    print(f"  frequency caps: {overshoot} over cap of {capped_served} capped ads served "
          f"({100 * overshoot / max(1, capped_served):.4f} %)")
    print(f"  charges above their bid: {sum(o['over_bid'] for o in outs)}")
    decide_ms = 1000 * sum(o["decide_s"] for o in outs) / max(1, args.slots)
    run.figure("spend/budget worst low", ratios[0])
    run.figure("spend/budget worst high", ratios[-1])
    run.figure("spend/budget median", statistics.median(ratios))
    run.figure("campaigns outside 98-101 %", outside)
    run.figure("campaigns >= 50 events outside 98-101 %", fine_outside)
    run.figure("campaigns < 50 events (excluded)", len(coarse))
    if fine:
        run.figure("spend/budget worst low (>= 50 events)", min(fine))
    run.figure("cap overshoot %", 100 * overshoot / max(1, capped_served))
    run.figure("charges above bid", sum(o["over_bid"] for o in outs))
    run.figure("slot decision mean (sim) ms", decide_ms, "ms")
    run.figure("ads served", served_total)


# --- (b) the ad decision on a feed page ----------------------------------------------------


def live_inventories(n: int, seed: int) -> tuple[Any, Any]:
    """A process snapshot of `n` live ads (as `serve.inventory()` would hold; a third target
    the US, a fifth English, a tenth a content topic, half capped 3 a day) and the
    snapshot of ads off. The predictor is the priors."""
    from apps.ads.delivery import predict, snapshot
    from apps.ads.selectors import ServableAd
    from apps.ads.targeting import Targeting
    from apps.feed.topics import TOPICS

    rng = random.Random(seed)
    topics = list(TOPICS)
    ads = []
    for i in range(1, n + 1):
        kind = rng.choices(["cpm", "cpc", "cpv2s"], weights=[60, 25, 15])[0]
        ads.append(ServableAd(
            ad_id=i, ad_group_id=i, campaign_id=i, org_id=1, asset_id=i, name=f"ad {i}",
            display_name=f"Brand {i}", cta="learn_more", landing_url="https://example.com/",
            restricted_category="", objective="traffic", bid_strategy=kind,
            bid_micros=rng.randint(50_000, 9_000_000), target_cost_micros=None,
            frequency_cap_day=rng.choice([None, 3]), frequency_cap_week=None,
            inventory_tier="standard", budget_kind="daily", budget_micros=10**12,
            currency="USD", timezone="UTC", hours_of_week=(),
            targeting=Targeting(countries=("US",) if i % 3 == 0 else (),
                                languages=("en",) if i % 5 == 0 else (),
                                topics=(topics[i % len(topics)],) if i % 10 == 0 else ())))
    playback = {a.asset_id: {"hls": "https://cdn.example/x.m3u8"} for a in ads}
    load = snapshot.LoadSettings(enabled=True, min_gap=6, max_gap=6, reserve_cpm_micros=0)
    inventory = snapshot.Inventory(ads, playback, {a.campaign_id: a.budget_micros for a in ads},
                                load, time.monotonic() + 10**9)
    off_inventory = snapshot.Inventory([], {}, {}, snapshot.LoadSettings(False, 6, 6, 0),
                                    time.monotonic() + 10**9)
    predict._current = predict.Predictor(None)
    predict._checked_at = time.monotonic() + 10**9
    return inventory, off_inventory


def decision_latency(args: argparse.Namespace, run: Any) -> None:
    from apps.ads.delivery import redis_client, serve
    from apps.ads.targeting import Viewer
    from apps.experiments.config import Snapshot
    from apps.experiments.evaluation import Evaluation
    from apps.experiments.rules import Unit
    from apps.feed import hooks

    redis_client.client().flushdb()
    inventory, off_inventory = live_inventories(args.campaigns, args.seed)
    user: Any = SimpleNamespace(pk=42, is_authenticated=True)
    viewer = Viewer(user_id=42, age=30, country="US", language="en", device="ios")
    posts = tuple(hooks.AdSlotPost(post_id=p, sensitive=False, hashtags=("cats",))
                  for p in range(8))
    flag_config = Snapshot(stamp="bench")

    def page(n: int) -> hooks.AdSlotRequest:
        # The feed hands the page's own flag evaluation over (its ranker flags came from it).
        # No experiment sets `ads.load` here (an empty, in-memory flag configuration).
        flags = Evaluation(Unit(user_id=42, country="US", language="en", age_band="25-34"),
                           snapshot=flag_config)
        return hooks.AdSlotRequest(user=user, session_id=None, posts=posts, since_last_ad=0,
                                   gap=6, position_offset=8 * n, request_id=f"r{n}",
                                   country="US", language="en", device="ios", flags=flags)

    def timings(inv: Any, n: int) -> list[float]:
        serve._inventory = inv
        # The viewer's profile cached as on a warm page (serve._viewer's key).
        serve._viewers[(42, "US", "en", "ios", page(0).region)] = (time.monotonic() + 10**9,
                                                                  viewer)
        out = []
        for i in range(n):
            started, cpu = time.perf_counter(), time.process_time()
            answer = serve.fill_ad_slots(request=page(i))
            out.append((time.perf_counter() - started) * 1000)
            cpu_ms.append((time.process_time() - cpu) * 1000)
            assert answer is not None
        return out

    cpu_ms: list[float] = []
    timings(inventory, 50)  # warm
    on, off, on_cpu = [], [], []
    for _ in range(args.pages // 200):  # interleaved: the same machine state for both
        cpu_ms.clear()
        on += timings(inventory, 100)
        on_cpu += cpu_ms
        off += timings(off_inventory, 100)
    serve._inventory = None

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(q * len(values)))]

    print(f"  ad decision on a page, {args.campaigns} live ads, {len(on)} pages: "
          f"ads on p50 {pct(on, .5):.2f} ms p99 {pct(on, .99):.2f} ms; "
          f"ads off p50 {pct(off, .5):.3f} ms p99 {pct(off, .99):.3f} ms; "
          f"added at p99 {pct(on, .99) - pct(off, .99):.2f} ms (goal < 5 ms)")
    # This process's CPU time per page (the Python side; Redis's own work and the wait for
    # the CPU are not in it): what a busy machine moves least.
    print(f"  ads on, CPU time of this process per page: p50 {pct(on_cpu, .5):.2f} ms "
          f"p99 {pct(on_cpu, .99):.2f} ms")
    run.figure("decision ads on CPU p50 ms", pct(on_cpu, 0.5), "ms")
    run.figure("decision ads on CPU p99 ms", pct(on_cpu, 0.99), "ms")
    run.figure("decision ads on p50 ms", pct(on, 0.5), "ms")
    run.figure("decision ads on p99 ms", pct(on, 0.99), "ms")
    run.figure("decision ads off p99 ms", pct(off, 0.99), "ms")
    run.figure("added p99 ms", pct(on, 0.99) - pct(off, 0.99), "ms")


def whole_pages(args: argparse.Namespace, run: Any) -> None:
    """(c) Whole For You pages (`feed.serving.pages.for_you`, in process, the seeded feed
    database of `--database-url`, the active ranker) with the ad snapshot of `--campaigns`
    live ads against ads off, interleaved in blocks of 20 pages in one run. 16 seeded users
    take turns, each asking for a first page (their scored candidates are reused after
    their first: the ad decision is then a larger share of a page than on a page scored
    from scratch). The filler's own wall and CPU time inside each page are timed too."""
    from apps.accounts.models import User
    from apps.ads.delivery import redis_client, serve
    from apps.feed import hooks
    from apps.feed.serving.pages import ClientHints, for_you

    redis_client.client().flushdb()
    inventory, off_inventory = live_inventories(args.campaigns, args.seed)
    users = list(User.objects.filter(username__regex=r"^bench[0-9]+$").order_by("id")[:16])
    if not users:
        raise SystemExit("no seeded users (bench1...): pass --database-url of the feed's "
                         "seeded database (see bench/feed_speed.py)")
    hints = ClientHints(country="US", language="en", device="ios")
    fill = serve.fill_ad_slots
    inside: list[tuple[float, float]] = []

    def timed_fill(*, request: Any) -> Any:
        started, cpu = time.perf_counter(), time.process_time()
        answer = fill(request=request)
        inside.append(((time.perf_counter() - started) * 1000,
                       (time.process_time() - cpu) * 1000))
        return answer

    hooks.ad_slots.remove(fill)
    hooks.ad_slots.register(timed_fill)
    served = 0

    def pages(inv: Any, n: int, offset: int) -> tuple[list[float], list[float]]:
        nonlocal served
        serve._inventory = inv
        wall, cpu = [], []
        for i in range(n):
            user = users[(offset + i) % len(users)]
            started, c0 = time.perf_counter(), time.process_time()
            page = for_you(viewer=user, session_id=None, limit=8, cursor=None, hints=hints)
            wall.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            served += len(getattr(page, "ads", None) or ())
        return wall, cpu

    try:
        pages(inventory, 2 * len(users), 0)  # warm: pools, scored candidates, profiles
        pages(off_inventory, len(users), 0)
        on, off, on_cpu, off_cpu, fill_on = [], [], [], [], []
        for block in range(max(1, args.pages // 40)):
            inside.clear()
            w, c = pages(inventory, 20, block * 20)
            on += w
            on_cpu += c
            fill_on += inside
            w, c = pages(off_inventory, 20, block * 20)
            off += w
            off_cpu += c
    finally:
        hooks.ad_slots.remove(timed_fill)
        hooks.ad_slots.register(fill)
        serve._inventory = None

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return values[min(len(values) - 1, int(q * len(values)))]

    fill_wall = [w for w, _ in fill_on]
    fill_cpu = [c for _, c in fill_on]
    print(f"  whole For You pages, {args.campaigns} live ads, {len(on)} pages each way: "
          f"ads on p50 {pct(on, .5):.2f} ms p99 {pct(on, .99):.2f} ms; ads off p50 "
          f"{pct(off, .5):.2f} ms p99 {pct(off, .99):.2f} ms; added at p50 "
          f"{pct(on, .5) - pct(off, .5):.2f} ms, at p99 {pct(on, .99) - pct(off, .99):.2f} ms "
          f"({served} ads served)")
    print(f"  page CPU (this process): ads on p50 {pct(on_cpu, .5):.2f} ms, ads off p50 "
          f"{pct(off_cpu, .5):.2f} ms; the filler inside the pages with ads: wall p50 "
          f"{pct(fill_wall, .5):.2f} ms p99 {pct(fill_wall, .99):.2f} ms, CPU p50 "
          f"{pct(fill_cpu, .5):.2f} ms p99 {pct(fill_cpu, .99):.2f} ms")
    run.figure("page ads on p50 ms", pct(on, 0.5), "ms")
    run.figure("page ads on p99 ms", pct(on, 0.99), "ms")
    run.figure("page ads off p50 ms", pct(off, 0.5), "ms")
    run.figure("page ads off p99 ms", pct(off, 0.99), "ms")
    run.figure("page added p50 ms", pct(on, 0.5) - pct(off, 0.5), "ms")
    run.figure("page added p99 ms", pct(on, 0.99) - pct(off, 0.99), "ms")
    run.figure("filler in page p99 ms", pct(fill_wall, 0.99), "ms")
    run.figure("filler in page CPU p50 ms", pct(fill_cpu, 0.5), "ms")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser, default_runs=1)
    parser.add_argument("--campaigns", type=int, default=1000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--slots", type=int, default=400_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pages", type=int, default=4000)
    parser.add_argument("--seed", type=int, default=19)
    # 14: not a helper's test db (1-9) nor another bench's (6, 7, 11-13); it is emptied.
    parser.add_argument("--redis-db", type=int, default=14)
    parser.add_argument("--database-url", default=None,
                        help="(pages) the seeded feed database, e.g. "
                        "postgres://postgres@127.0.0.1:54329/bench_reco")
    parser.add_argument("--small", action="store_true",
                        help="100 campaigns, 10,000 users, 20,000 slots, 1,000 pages")
    parser.add_argument("--only", choices=["day", "latency", "pages"], default=None)
    args = parser.parse_args()
    if args.small:  # explicit sizes on the command line win
        defaults = {"campaigns": 1000, "users": 100_000, "slots": 400_000, "pages": 4000}
        small = {"campaigns": 100, "users": 10_000, "slots": 20_000, "pages": 1000}
        for name, value in small.items():
            if getattr(args, name) == defaults[name]:
                setattr(args, name, value)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    _setup(args.redis_db)
    runs = Runs("ads", args)
    for run in runs:
        if args.only in (None, "day"):
            simulate_day(args, run)
        if args.only in (None, "latency"):
            decision_latency(args, run)
        if args.only == "pages":
            whole_pages(args, run)
    runs.summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
