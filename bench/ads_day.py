"""The simulated day of bench/ads.py (issue 19, "Benchmarks"; the world is described in
bench/ads.py's docstring). Two ways to drive the serving code through it:

- `batched` (default): ONE process on a simulated clock decides the slots of one simulated
  second together (at most `--batch`): one pipeline reads the stale pacing states of their
  campaigns and each slot's cap counters (`serve._read_many`, what `_read_positions` does
  for one page); each slot runs the serving code's own auction step (`serve._choose`: the
  throttle's candidates, the auction, the auction log, the `pacing.fits` check); one
  pipeline commits every winner (`serve._commit_calls`: the same `pacing.admit` and
  `caps.take` Lua scripts, which Redis runs one after another, so budgets and caps stay
  exact) and `serve._commit_settle` undoes a half-accepted one; refused slots run again
  without their winner (at most `serve.MAX_TRIES` commits, as `_run_slot`), and the charges
  due are recorded in one pipeline (`budget.charge_call`, the `charge` script that billing
  uses: at most the budget's remainder, since 7 December h19). The
  slots of one second are decided as if concurrent: their pre-auction states are at most a
  second old, which `SWIPEME_ADS_STATES_TTL` (1 s) already allows every serving process.
  What is measured is unchanged (spend against budget, served ads beyond a cap, charges
  above bids, with the same throttle, auction, admission and caps code); the round trips
  per slot fall (a second's slots share them).
- `serial`: `--workers` forked processes in lock-step per simulated minute, each slot
  through `serve._read_positions` and `serve._run_slot` one at a time, as before (the 1/10
  probe of the full size took 411 s at load 13).
"""

from __future__ import annotations

import argparse
import heapq
import multiprocessing
import random
import statistics
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

SEGMENTS = 20
DAY = datetime(2026, 12, 7, tzinfo=UTC)  # the simulated day (UTC)


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


class World:
    """What serving keeps per inventory snapshot, made once: each campaign's validated
    auction candidate and its ad, each segment's caps and budgets (every segment, also one
    no campaign targets: its slots find no candidate and stay empty, as a page with no
    eligible ad does)."""

    def __init__(self, campaigns: list[dict[str, Any]]) -> None:
        from apps.ads.delivery import auction, caps

        self.by_segment: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for c in campaigns:
            for s in c["segments"]:
                self.by_segment[s].append(c)
        self.budgets = {c["id"]: c["budget"] for c in campaigns}
        self.candidate_of: dict[int, tuple[Any, auction.Candidate]] = {}
        for c in campaigns:
            cand = auction.Candidate(
                ad_id=c["id"], ad_group_id=c["id"], campaign_id=c["id"], strategy=c["kind"],
                bid_micros=c["bid"], p_click=c["p_click"], p_view_2s=c["p_view"],
                quality=c["quality"])
            cand.validate()
            self.candidate_of[c["id"]] = (
                SimpleNamespace(ad_group_id=c["id"], campaign_id=c["id"]), cand)
        self.caps = {s: {c["id"]: caps.Cap(c["id"], c["cap"], None) for c in self.by_segment[s]}
                     for s in range(SEGMENTS)}
        self.cap_list = {s: list(v.values()) for s, v in self.caps.items()}
        self.segment_budgets = {s: {c["id"]: self.budgets[c["id"]] for c in self.by_segment[s]}
                                for s in range(SEGMENTS)}

    def pool(self, segment: int, passing: set[int], under: set[int]
             ) -> dict[int, tuple[Any, Any]]:
        """The slot's candidates (by ad id): its segment's campaigns the throttle let in
        and, when capped, still under the viewer's cap."""
        return {c["id"]: self.candidate_of[c["id"]] for c in self.by_segment[segment]
                if c["id"] in passing and (not c["cap"] or c["id"] in under)}


@dataclass
class Tally:
    served: Counter[tuple[int, int]] = field(default_factory=Counter)  # (user, campaign)
    over_bid: int = 0
    charges: int = 0
    served_total: int = 0
    decide_s: float = 0.0
    errors: int = 0
    # billing events: (billed at, campaign, price, hold, tie-breaker, served at)
    pending: list[tuple[datetime, int, int, int, int, datetime]] = field(default_factory=list)
    budgets: dict[int, int] = field(default_factory=dict)  # each campaign's daily budget
    capped: int = 0  # billing events charged less than their price (the budget's remainder)
    free: Counter[int] = field(default_factory=Counter)  # campaign -> ads served at price 0

    def out(self) -> dict[str, Any]:
        return {"served": dict(self.served), "over_bid": self.over_bid, "charges": self.charges,
                "capped": self.capped, "free": dict(self.free),
                "served_total": self.served_total, "decide_s": self.decide_s,
                "errors": self.errors}

    def serve(self, rng: random.Random, user: int, ad: Any, placement: Any, cand: Any,
              now: datetime) -> None:
        """A served ad: counted, its price checked against its bid, and its billing event
        drawn with its true rate (CPM: 95 % viewable), 1-30 simulated seconds later."""
        from apps.ads.delivery import auction, pacing, serve

        self.served_total += 1
        self.served[(user, ad.campaign_id)] += 1
        if placement.price_micros > auction.bid_per_event(cand):
            self.over_bid += 1
        if not placement.price_micros:  # won alone at a reserve of 0 (`--reserve-cpm 0`)
            self.free[ad.campaign_id] += 1
        p = serve._billing_probability(cand)
        true_p = 0.95 if cand.strategy == "cpm" else p
        hold = pacing.expected_cost(placement.price_micros, p)
        if rng.random() < true_p:
            self.charges += 1
            at = now + timedelta(seconds=rng.uniform(1, 30))
            heapq.heappush(self.pending, (at, ad.campaign_id, placement.price_micros, hold,
                                          self.served_total, now))

    def charge_due(self, upto: datetime, *, final: bool = False) -> None:
        """Record the charges billed by `upto` (all of them when `final`, at `upto` at the
        latest) in one pipeline of `charge` scripts (each at most the budget's remainder).
        A charge is the record of money: when the pipeline fails, each is sent again on its
        own (5 tries), as the serial day retried each."""
        import redis

        from apps.ads.delivery import budget, redis_client

        calls, prices = [], []
        while self.pending and (final or self.pending[0][0] <= upto):
            at, cid, price, hold, _, served_at = heapq.heappop(self.pending)
            # as `events.ad_event_record` bills: at most what is left of the budget
            calls.append(budget.charge_call(campaign_id=cid, price_micros=price,
                                            budget_micros=self.budgets[cid], at=min(at, upto),
                                            served_at=served_at, release_micros=hold))
            prices.append(price)
        if not calls:
            return
        try:
            charged = redis_client.run_scripts(calls)
            self.capped += sum(1 for c, p in zip(charged, prices, strict=True) if int(c) < p)
            return
        except redis.RedisError:
            self.errors += 1
        for (found, keys, args), price in zip(calls, prices, strict=True):
            for _ in range(5):
                try:
                    if int(found(keys=keys, args=args, client=redis_client.client())) < price:
                        self.capped += 1
                    break
                except redis.RedisError:
                    self.errors += 1
                    time.sleep(0.2)
            else:
                raise RuntimeError("a charge could not be recorded")


def _worker(index: int, workers: int, args: argparse.Namespace, campaigns: list[dict[str, Any]],
            minutes: list[int], barrier: Any, results: Any) -> None:
    """The serial day (`--day-mode serial`): this process's share of each minute's slots,
    one at a time through `serve._read_positions` and `serve._run_slot`."""
    import redis

    from apps.ads.delivery import pacing, redis_client, serve

    redis_client.forget()
    rng = random.Random(1000 + index)
    world = World(campaigns)
    tally = Tally(budgets=world.budgets)
    for minute, count in enumerate(minutes):
        now_minute = DAY + timedelta(minutes=minute)
        mine = count // workers + (1 if index < count % workers else 0)
        for k in range(mine):
            now = now_minute + timedelta(seconds=60 * k / max(mine, 1))
            tally.charge_due(now)
            user = rng.randrange(args.users)
            segment = user % SEGMENTS
            viewer_key = f"u:{user}"
            started = time.perf_counter()
            try:  # one MGET, as serving reads them (with the auction log's due records)
                states, under = serve._read_positions(
                    world.segment_budgets[segment], viewer_key, world.cap_list[segment], now)
            except redis.RedisError:
                tally.errors += 1  # the page gets no ad, as serving does
                continue
            by_id = world.pool(segment, pacing.passing(states, rng=rng), under)
            try:
                won = serve._run_slot([cand for _, cand in by_id.values()], by_id,
                                      viewer_key=viewer_key, group_caps=world.caps[segment],
                                      budgets=world.budgets, reserve=args.reserve_cpm,
                                      now=now, context={},
                                      validated=True, states=states)
            except redis.RedisError:
                tally.errors += 1
                continue
            tally.decide_s += time.perf_counter() - started
            if won is not None:
                ad, placement, _ = won
                tally.serve(rng, user, ad, placement, by_id[placement.ad_id][1], now)
        barrier.wait(timeout=600)
    tally.charge_due(DAY + timedelta(days=1) - timedelta(seconds=1), final=True)
    results.put(tally.out())


@dataclass
class _Slot:
    user: int
    segment: int
    viewer_key: str
    now: datetime
    by_id: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    pool: list[Any] = field(default_factory=list)
    states: dict[int, Any] = field(default_factory=dict)
    tries: int = 0


def _chunks(minutes: list[int], window_s: float, most: int) -> Any:
    """The day's slot times (each minute's slots spread evenly over it), in groups of
    consecutive slots within `window_s` simulated seconds of the group's first, at most
    `most` each."""
    for minute, count in enumerate(minutes):
        start = DAY + timedelta(minutes=minute)
        times = [start + timedelta(seconds=60 * k / count) for k in range(count)]
        i = 0
        while i < count:
            j = i + 1
            while j < count and j - i < most and (times[j] - times[i]).total_seconds() < window_s:
                j += 1
            yield times[i:j]
            i = j


def _decide_chunk(world: World, tally: Tally, rng: random.Random, args: argparse.Namespace,
                  times: list[datetime]) -> None:
    """One simulated second's slots: one read, auctions, batched commits (with retries)."""
    import redis

    from apps.ads.delivery import auctionlog, pacing, redis_client, serve

    slots = []
    for now in times:
        user = rng.randrange(args.users)
        slots.append(_Slot(user, user % SEGMENTS, f"u:{user}", now))
    budgets: dict[int, int] = {}
    for s in {slot.segment for slot in slots}:
        budgets.update(world.segment_budgets[s])
    try:  # the states of every campaign of the chunk and each viewer's caps: one pipeline
        unders = serve._read_many(budgets, [(s.viewer_key, world.cap_list[s.segment])
                                            for s in slots], times[0])
    except redis.RedisError:
        tally.errors += len(slots)  # these pages get no ad, as serving does
        return
    for slot, under in zip(slots, unders, strict=True):
        slot.states = serve._states.states(world.segment_budgets[slot.segment], now=slot.now)
        slot.by_id = world.pool(slot.segment, pacing.passing(slot.states, rng=rng), under)
        slot.pool = [cand for _, cand in slot.by_id.values()]
    waiting = slots
    while waiting:
        picks = []
        for slot in waiting:
            slot.pool, pick = serve._choose(slot.pool, slot.by_id, reserve=args.reserve_cpm,
                                            context={}, validated=True, states=slot.states)
            if pick is not None:
                picks.append((slot, pick))
        if not picks:
            return
        calls: list[Any] = []
        spans = []
        for slot, (ad, _placement, _, cost) in picks:
            made = serve._commit_calls(
                slot.viewer_key, world.caps[slot.segment][ad.ad_group_id],
                campaign_id=ad.campaign_id, budget_micros=world.budgets[ad.campaign_id],
                cost=cost, now=slot.now)
            spans.append((len(calls), len(made)))
            calls += made
        batch = auctionlog.due()

        def push(pipe: Any, batch: list[str] = batch) -> int:
            return auctionlog.push_in(pipe, batch)

        try:
            results = redis_client.run_scripts(calls, before=push)
        except redis.RedisError as exc:
            auctionlog.dropped(batch, exc)
            tally.errors += len(picks)
            return
        waiting = []
        for (slot, (ad, placement, _, cost)), (first, n) in zip(picks, spans, strict=True):
            slot.tries += 1
            if serve._commit_settle(results[first:first + n], slot.viewer_key,
                                    world.caps[slot.segment][ad.ad_group_id],
                                    campaign_id=ad.campaign_id, cost=cost, now=slot.now):
                tally.serve(rng, slot.user, ad, placement, slot.by_id[placement.ad_id][1], slot.now)
            elif slot.tries < serve.MAX_TRIES:
                slot.pool = [c for c in slot.pool if c.ad_id != placement.ad_id]
                waiting.append(slot)


def _batched(args: argparse.Namespace, campaigns: list[dict[str, Any]],
             minutes: list[int]) -> dict[str, Any]:
    """The batched day in this process (`--day-mode batched`)."""
    from apps.ads.delivery import serve

    serve._states.clear()
    rng = random.Random(1000)
    world = World(campaigns)
    tally = Tally(budgets=world.budgets)
    began, hour = time.perf_counter(), 0
    for times in _chunks(minutes, args.batch_seconds, args.batch):
        if times[0] >= DAY + timedelta(hours=hour + 3):  # progress, for a run cut short
            hour += 3
            print(f"    {hour:02d}:00 simulated after {time.perf_counter() - began:.0f} s, "
                  f"{tally.served_total} ads served", flush=True)
        tally.charge_due(times[0])
        started = time.perf_counter()
        _decide_chunk(world, tally, rng, args, times)
        tally.decide_s += time.perf_counter() - started
    tally.charge_due(DAY + timedelta(days=1) - timedelta(seconds=1), final=True)
    return tally.out()


def simulate_day(args: argparse.Namespace, run: Any) -> None:
    from apps.ads.delivery import auctionlog, budget, redis_client

    redis_client.client().flushdb()
    campaigns = make_campaigns(args.campaigns, args.slots, seed=args.seed)
    minutes = slot_minutes(args.slots, seed=args.seed)
    started = time.perf_counter()
    if args.day_mode == "batched":
        outs = [_batched(args, campaigns, minutes)]
        auctionlog.flush()
        how = f"batched (one process, <= {args.batch} slots within {args.batch_seconds:g} s)"
    else:
        ctx = multiprocessing.get_context("fork")
        barrier = ctx.Barrier(args.workers)
        results = ctx.Queue()
        procs = [ctx.Process(target=_worker, args=(i, args.workers, args, campaigns, minutes,
                                                   barrier, results))
                 for i in range(args.workers)]
        for p in procs:
            p.start()
        outs = [results.get(timeout=3600) for _ in procs]
        for p in procs:
            p.join()
        how = f"serial ({args.workers} processes)"
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
          f"{args.slots} slots, {how}, {seconds:.1f} s")
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
    # Campaigns that spent nothing: served at all? (never served = never won its segments'
    # auctions or never passed pacing; served but not billed = its billing events never came)
    by_campaign: Counter[int] = Counter()
    for (_, cid), n in served.items():
        by_campaign[cid] += n
    free: Counter[int] = Counter()
    for out in outs:
        free.update(out.get("free", {}))
    idle = [c for c in campaigns if spent[c["id"]] == 0]
    print(f"  spent nothing: {len(idle)} campaigns" + ("" if not idle else ": " + "; ".join(
        f"#{c['id']} {c['kind']} bid {c['bid']} served {by_campaign[c['id']]} "
        f"(at price 0: {free[c['id']]}) segments {c['segments']}" for c in idle[:10])))
    print(f"  reserve ${args.reserve_cpm / 1e6:.2f} CPM; ads served at price 0 (won alone "
          f"at a reserve of 0): "
          f"{sum(free.values())} of {sum(by_campaign.values())}, by "
          f"{len(free)} campaigns")
    print(f"  frequency caps: {overshoot} over cap of {capped_served} capped ads served "
          f"({100 * overshoot / max(1, capped_served):.4f} %)")
    print(f"  charges above their bid: {sum(o['over_bid'] for o in outs)}; billing events "
          f"charged only the budget's remainder: {sum(o.get('capped', 0) for o in outs)}")
    decide_ms = 1000 * sum(o["decide_s"] for o in outs) / max(1, args.slots)
    run.figure("spend/budget worst low", ratios[0])
    run.figure("spend/budget worst high", ratios[-1])
    run.figure("spend/budget median", statistics.median(ratios))
    run.figure("campaigns outside 98-101 %", outside)
    run.figure("campaigns that spent nothing", len(idle))
    run.figure("campaigns >= 50 events outside 98-101 %", fine_outside)
    run.figure("campaigns < 50 events (excluded)", len(coarse))
    if fine:
        run.figure("spend/budget worst low (>= 50 events)", min(fine))
    run.figure("cap overshoot %", 100 * overshoot / max(1, capped_served))
    run.figure("charges above bid", sum(o["over_bid"] for o in outs))
    run.figure("slot decision mean (sim) ms", decide_ms, "ms")
    run.figure("ads served", served_total)
    run.figure("day seconds", seconds, "s")
