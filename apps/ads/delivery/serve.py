"""Filling For You's ad slots (registered on `feed.hooks.ad_slots` by AdsConfig.ready).

Per page, in order:
1. *Slots* (`slots.plan`): where the ad load allows an ad, away from sensitive posts. No
   slot on the page: done, nothing read.
2. *Eligibility*: the ads app's selector (`selectors.live_ads`, the viewer-independent part:
   review, status, schedule, balance, audience sizes) is cached per process for
   `SWIPEME_ADS_ELIGIBLE_TTL` seconds with the ads' playback and each campaign's budget for
   today; the targeting matcher (`targeting.viewer_matches`: minors, signed-out viewers,
   restricted categories) and the day-part (`selectors.in_daypart`) run in Python on it.
   The viewer's targeting profile (`targeting.viewer_for`) is cached per process for
   `VIEWER_TTL` seconds. So a page reads no table for its ads once warm.
3. *Pacing and caps, before the auction*: every candidate campaign's spend (the process's
   `pacing.StateCache`, read again for the campaigns whose entry is older than
   `SWIPEME_ADS_STATES_TTL`) and the viewer's cap counters (one MGET), in one pipeline, or
   none when nothing is stale or capped; campaigns ahead of their curve are throttled
   (`pacing.passes`), capped groups drop out.
4. *Auction* per slot (`auction.run`) on the calibrated predictions (`predict.current()`),
   one ad group at most once per page; the record goes to the auction log.
5. *Commit* the winner atomically: `caps.take` (Lua) then `pacing.admit` (Lua: hard budget
   and the curve); a refusal (another process took the last of it) gives back what was
   taken and runs the auction again without that ad (at most `MAX_TRIES`).
6. *Token and item*: the signed served-ad token (price, billing event, viewer) and the API
   item (`FeedAdSerializer`'s shape).

Redis unavailable (the breaker open, or a timeout): no ads on the page, the posts are
served (`feed.hooks.fill_ad_slots` also catches anything unexpected).
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import OrderedDict
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import redis
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from apps.feed.hooks import AdSlotAnswer, AdSlotRequest

from . import auction, auctionlog, caps, pacing, predict, redis_client, slots, snapshot, tokens
from .conf import conf
from .snapshot import Inventory, read_inventory

logger = logging.getLogger(__name__)

VIEWER_TTL = 60.0
VIEWER_CACHE_SIZE = 4096
MAX_TRIES = 3
SPONSORED_LABEL = "Sponsored"


_lock = threading.Lock()
_inventory: Inventory | None = None
_states = pacing.StateCache()
_viewers: OrderedDict[tuple[Any, ...], tuple[float, Any]] = OrderedDict()


def inventory(now: datetime | None = None) -> Inventory:
    """The process's eligible-ad snapshot, read again after SWIPEME_ADS_ELIGIBLE_TTL."""
    global _inventory
    ttl = float(conf("SWIPEME_ADS_ELIGIBLE_TTL"))
    found = _inventory
    if found is not None and time.monotonic() - found.read_at < ttl:
        return found
    with _lock:
        found = _inventory
        if found is not None and time.monotonic() - found.read_at < ttl:
            return found
        _inventory = read_inventory(now or timezone.now())
        return _inventory


def _viewer(request: AdSlotRequest) -> Any:
    from apps.ads.targeting import viewer_for

    user = request.user
    key = (
        getattr(user, "pk", None),
        request.country,
        request.language,
        request.device,
        request.region,
    )
    now = time.monotonic()
    with _lock:
        hit = _viewers.get(key)
        if hit is not None and now - hit[0] < VIEWER_TTL:
            _viewers.move_to_end(key)
            return hit[1]
    found = viewer_for(
        user,
        country=request.country,
        language=request.language,
        device=request.device,
        region=request.region,
    )
    with _lock:
        _viewers[key] = (now, found)
        _viewers.move_to_end(key)
        while len(_viewers) > VIEWER_CACHE_SIZE:
            _viewers.popitem(last=False)
    return found


def forget() -> None:
    """Drop the process's caches (tests; a changed setting)."""
    global _inventory
    with _lock:
        _inventory = None
        _viewers.clear()
        _states.clear()
    predict.forget()


def _billing_probability(c: auction.Candidate) -> float:
    if c.strategy == auction.CPC:
        return c.p_click
    if c.strategy == auction.CPV:
        return c.p_view_2s
    return 1.0


def _no_ads(request: AdSlotRequest, load: slots.AdLoad, rng: random.Random) -> AdSlotAnswer:
    since, gap = slots.after_page(
        len(request.posts),
        [],
        since_last_ad=request.since_last_ad,
        gap=request.gap,
        load=load,
        rng=rng,
    )
    return AdSlotAnswer(ads=(), since_last_ad=since, gap=gap)


def _experiment_load(request: AdSlotRequest, load: slots.AdLoad) -> slots.AdLoad:
    """The `ads.load` flag (an experiment arm may set it: one ad per N organic posts, 2..50)
    overrides the staff setting for this viewer; reading it logs the viewer's exposure, so it
    is read only once ads are on and there are ads to serve."""
    from apps.experiments import evaluation as experiments

    # The feed's evaluation for this page when it hands one over (its ranker flags were read
    # from it): the viewer's arms and exposures are then evaluated once per page.
    n = experiments.value(
        "ads.load",
        request.flags if request.flags is not None else request.user,
        default=None,
        device_id=request.session_id or "",
    )
    if isinstance(n, bool) or not isinstance(n, int) or not 2 <= n <= 50:
        return load
    return slots.AdLoad(n - 1, n + 1)


def fill_ad_slots(*, request: AdSlotRequest) -> AdSlotAnswer | None:
    now = timezone.now()
    inv = inventory(now)
    rng = random.Random()  # noqa: S311 - ad load and throttling draws, not secrets
    load = slots.AdLoad(inv.load.min_gap, inv.load.max_gap)
    if not inv.load.enabled or not inv.ads:
        return _no_ads(request, load, rng)
    load = _experiment_load(request, load)
    posts = [slots.SlotPost(p.post_id, p.sensitive, p.hashtags) for p in request.posts]
    planned, _, _ = slots.plan(
        posts, since_last_ad=request.since_last_ad, gap=request.gap, load=load, rng=rng
    )
    if not planned:
        return _no_ads(request, load, rng)
    user_id = getattr(request.user, "pk", None)
    if user_id is None and not request.session_id:
        return _no_ads(request, load, rng)  # no one to cap frequency for
    viewer_key = tokens.viewer_key_for(user_id=user_id, device_id=request.session_id)

    from apps.ads.models import InventoryTier
    from apps.ads.targeting import slot_topics, topic_matches

    viewer = _viewer(request)
    matched = snapshot.eligible(inv, viewer, now)
    if not matched:
        return _no_ads(request, load, rng)
    all_caps = snapshot.group_caps(inv)
    group_caps = {a.ad_group_id: all_caps[a.ad_group_id] for a in matched}
    try:
        states, under = _read_positions(
            {a.campaign_id: inv.daily_budget[a.campaign_id] for a in matched},
            viewer_key,
            list(group_caps.values()),
            now,
        )
    except redis.RedisError as exc:
        logger.warning("ads: no ads on this page, Redis unavailable (%s)", exc)
        return _no_ads(request, load, rng)
    passing = pacing.passing(states, rng=rng)
    cands = snapshot.candidates(inv, viewer)
    by_id: dict[int, tuple[Any, auction.Candidate]] = {}
    for ad in matched:
        cand = cands.get(ad.ad_id)
        if (
            cand is not None
            and ad.campaign_id in passing
            and (ad.ad_group_id in under or not group_caps[ad.ad_group_id].limited)
        ):
            by_id[ad.ad_id] = (ad, cand)
    if not by_id:
        return _no_ads(request, load, rng)

    filled: list[tuple[int, dict[str, Any]]] = []
    used_groups: set[int] = set()
    for slot in planned:
        # The slot's content topics: its neighbours' (contextual, for every viewer).
        topics = slot_topics(posts[slot.index - 1].hashtags, posts[slot.index].hashtags)
        pool = [
            cand
            for ad, cand in by_id.values()
            if cand.ad_group_id not in used_groups
            and (slot.allows_limited or ad.inventory_tier != InventoryTier.LIMITED)
            and topic_matches(ad.targeting, topics)
        ]
        try:
            won = _run_slot(
                pool,
                by_id,
                viewer_key=viewer_key,
                group_caps=group_caps,
                budgets=inv.daily_budget,
                reserve=inv.load.reserve_cpm_micros,
                now=now,
                context={
                    "request_id": request.request_id,
                    "position": request.position_offset + slot.index,
                    "signed_in": user_id is not None,
                    "topics": sorted(topics),
                },
                validated=True,
                states=states,
            )
        except redis.RedisError as exc:
            logger.warning("ads: slot left empty, Redis unavailable (%s)", exc)
            break
        if won is None:
            continue
        ad, placement, auction_id = won
        used_groups.add(ad.ad_group_id)
        filled.append(
            (
                slot.index,
                _item(
                    ad,
                    placement,
                    auction_id,
                    viewer_key,
                    now,
                    inv.playback[ad.asset_id],
                    request.position_offset + slot.index,
                    request.request_id,
                ),
            )
        )
    since, gap = slots.after_page(
        len(posts),
        [i for i, _ in filled],
        since_last_ad=request.since_last_ad,
        gap=request.gap,
        load=load,
        rng=rng,
    )
    return AdSlotAnswer(ads=tuple(filled), since_last_ad=since, gap=gap)


def _read_positions(
    budgets: dict[int, int], viewer_key: str, group_caps: list[caps.Cap], now: datetime
) -> tuple[dict[int, pacing.State], set[int]]:
    """Pacing's states and the viewer's cap counters (one MGET) in at most ONE round trip,
    with the auction log's due records pushed in the same pipeline. The states come from
    the process's `pacing.StateCache`: only the campaigns whose entry is older than
    `SWIPEME_ADS_STATES_TTL` are read (one script: spent and in flight per campaign), so
    a page whose campaigns are fresh and whose groups are uncapped makes no round trip
    here. Raises redis.RedisError."""
    under = _read_many(budgets, [(viewer_key, group_caps)], now)[0]
    return _states.states(budgets, now=now), under


def _read_many(
    budgets: dict[int, int], viewers: list[tuple[str, list[caps.Cap]]], now: datetime
) -> list[set[int]]:
    """`_read_positions` for several viewers at once (one pipeline: the stale states of
    `budgets`, then each viewer's cap MGET; the bench's simulated day decides the slots of
    one simulated second together): each viewer's groups under their caps, in order; the
    states are in `_states`. Raises redis.RedisError."""
    stale = _states.stale(budgets, now=now, ttl=float(conf("SWIPEME_ADS_STATES_TTL")))
    keys_of = [caps.cap_keys(viewer_key, group_caps, now=now) for viewer_key, group_caps in viewers]
    reads = [keys for keys in keys_of if keys]
    if not stale and not reads:
        return [set() for _ in viewers]
    # The log's due records ride along when the page reads anyway; else in the commit's.
    batch = auctionlog.due()
    script = pacing.states_script()
    state_keys, state_args = pacing.states_call(stale, now=now)
    try:
        pipe = redis_client.client().pipeline(transaction=False)
        skip = auctionlog.push_in(pipe, batch)
        if stale:
            pipe.evalsha(script.sha, len(state_keys), *state_keys, *state_args)
        for keys in reads:
            pipe.mget(keys)
        results = pipe.execute(raise_on_error=False)[skip:]
    except redis.RedisError as exc:
        auctionlog.dropped(batch, exc)
        raise
    if stale:
        values, results = results[0], results[1:]
        if isinstance(values, redis.exceptions.NoScriptError):  # Redis restarted: load it
            values = script(keys=state_keys, args=state_args, client=redis_client.client())
        elif isinstance(values, Exception):
            raise values
    for result in results:
        if isinstance(result, Exception):
            raise result
    if stale:
        _states.store({cid: budgets[cid] for cid in stale}, values, now=now)
    answers = iter(results)
    return [
        caps.under_from(group_caps, next(answers)) if keys else set()
        for (_, group_caps), keys in zip(viewers, keys_of, strict=True)
    ]


def _commit_calls(
    viewer_key: str,
    cap: caps.Cap,
    *,
    campaign_id: int,
    budget_micros: int,
    cost: int,
    now: datetime,
) -> list[tuple[Any, list[str], list[Any]]]:
    """The winner's `pacing.admit` and (capped) `caps.take` script calls."""
    admit_keys, admit_args = pacing.admit_call(
        campaign_id=campaign_id,
        budget_micros=budget_micros,
        cost_micros=cost,
        now=now,
    )
    calls = [(pacing.admit_script(), admit_keys, admit_args)]
    if cap.limited:
        take_keys, take_args = caps.take_call(viewer_key, cap, now=now)
        calls.append((caps.take_script(), take_keys, take_args))
    return calls


def _commit_settle(
    results: list[Any],
    viewer_key: str,
    cap: caps.Cap,
    *,
    campaign_id: int,
    cost: int,
    now: datetime,
) -> bool:
    """The answers of `_commit_calls`: served when both said yes; when only one did, it is
    undone (`release` or `give_back`), so the ad holds both or neither."""
    admitted = bool(results[0][0])
    taken = bool(results[1]) if cap.limited else True
    # The campaign's spent + in flight as admission saw it (with this ad's cost if admitted).
    _states.admitted(campaign_id, int(results[0][1]) - (cost if admitted and not taken else 0))
    if admitted and not taken:
        pacing.release(campaign_id=campaign_id, cost_micros=cost, now=now)
    elif taken and not admitted and cap.limited:
        caps.give_back(viewer_key, cap, now=now)
    return admitted and taken


def _commit(
    viewer_key: str,
    cap: caps.Cap,
    *,
    campaign_id: int,
    budget_micros: int,
    cost: int,
    now: datetime,
) -> bool:
    """The winner's cap and budget, atomically each, in one round trip: `caps.take` and
    `pacing.admit` pipelined; when only one of them says yes it is undone (`give_back`,
    `release`), so the served ad holds both or neither."""
    calls = _commit_calls(
        viewer_key,
        cap,
        campaign_id=campaign_id,
        budget_micros=budget_micros,
        cost=cost,
        now=now,
    )
    batch = auctionlog.due()
    try:
        results = redis_client.run_scripts(
            calls, before=lambda pipe: auctionlog.push_in(pipe, batch)
        )
    except redis.RedisError as exc:
        auctionlog.dropped(batch, exc)
        raise
    return _commit_settle(results, viewer_key, cap, campaign_id=campaign_id, cost=cost, now=now)


Pick = tuple[Any, auction.Placement, str, int]  # (ad, placement, auction id, expected cost)


def _choose(
    pool: list[auction.Candidate],
    by_id: dict[int, tuple[Any, auction.Candidate]],
    *,
    reserve: int,
    context: dict[str, Any],
    validated: bool,
    states: dict[int, pacing.State] | None,
) -> tuple[list[auction.Candidate], Pick | None]:
    """The slot's auction (logged) and its winner, with its expected cost; a winner the
    page's `states` already refuse (`pacing.fits`) leaves and the auction runs again
    without it (`auction.run_until`: ranked once), no round trip. Returns the pool left and
    the pick (None: no winner)."""
    if not pool:
        return pool, None

    def fits(placement: auction.Placement, cand: auction.Candidate) -> bool:
        state = states.get(placement.campaign_id) if states is not None else None
        return state is None or pacing.fits(
            state,
            cost_micros=pacing.expected_cost(placement.price_micros, _billing_probability(cand)),
        )

    auction_id = tokens.new_auction_id()
    outcome, pool = auction.run_until(
        pool, auction_id=auction_id, accept=fits, reserve_cpm_micros=reserve, validated=validated
    )
    auctionlog.log_auction(
        pool, outcome, auction_id=auction_id, reserve_cpm_micros=reserve, context=context
    )
    if not outcome.placements:
        return pool, None
    placement = outcome.placements[0]
    ad, cand = by_id[placement.ad_id]
    cost = pacing.expected_cost(placement.price_micros, _billing_probability(cand))
    return pool, (ad, placement, auction_id, cost)


def _run_slot(
    pool: list[auction.Candidate],
    by_id: dict[int, tuple[Any, auction.Candidate]],
    *,
    viewer_key: str,
    group_caps: dict[int, caps.Cap],
    budgets: dict[int, int],
    reserve: int,
    now: datetime,
    context: dict[str, Any],
    validated: bool = False,
    states: dict[int, pacing.State] | None = None,
) -> tuple[Any, auction.Placement, str] | None:
    """One slot's auction and the winner's atomic commit; a refused winner leaves the
    auction and it runs again without it (its price depended on it). With the page's pacing
    `states`, a winner they already refuse (`pacing.fits`: its cost above the headroom, its
    price above what is left) leaves without a round trip and without using one of the
    `MAX_TRIES` commits."""
    pool = list(pool)
    for _ in range(MAX_TRIES):
        pool, pick = _choose(
            pool, by_id, reserve=reserve, context=context, validated=validated, states=states
        )
        if pick is None:
            return None
        ad, placement, auction_id, cost = pick
        if _commit(
            viewer_key,
            group_caps[ad.ad_group_id],
            campaign_id=ad.campaign_id,
            budget_micros=budgets[ad.campaign_id],
            cost=cost,
            now=now,
        ):
            return ad, placement, auction_id
        pool = [c for c in pool if c.ad_id != placement.ad_id]
    return None


def _item(
    ad: Any,
    placement: auction.Placement,
    auction_id: str,
    viewer_key: str,
    now: datetime,
    playback: dict[str, Any],
    position: int,
    request_id: str,
) -> dict[str, Any]:
    from apps.ads.models import Ad

    token = tokens.make_token(
        tokens.ServedAd(
            auction_id=auction_id,
            ad_id=ad.ad_id,
            ad_group_id=ad.ad_group_id,
            campaign_id=ad.campaign_id,
            price_micros=placement.price_micros,
            billing_event=placement.billing_event,
            viewer_key=viewer_key,
            served_at=now,
        )
    )
    try:
        cta_label = str(Ad.CallToAction(ad.cta).label)
    except ValueError:
        cta_label = "Learn more"
    click_path = reverse("ads:click", kwargs={"token": token})
    return {
        "type": "ad",
        "id": str(ad.ad_id),
        "token": token,
        "sponsored": True,
        "label": SPONSORED_LABEL,
        "display_name": ad.display_name,
        "cta": ad.cta,
        "cta_label": cta_label,
        "click_url": f"{settings.SITE_URL.rstrip('/')}{click_path}",
        "landing_domain": urlsplit(ad.landing_url).hostname or "",
        "playback": playback,
        "reco": {"source": "ad", "position": position, "request_id": request_id},
    }
