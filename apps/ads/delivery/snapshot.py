"""The ad inventory snapshot behind `serve` (split from it): what every page's decision
reads without touching a table once warm. `read_inventory` loads the live ads (the ads
app's `selectors.live_ads`), their playback and each campaign's budget for today; the
snapshot then works out, once per kind of viewer, which ads match (`eligible`), the ad
groups' caps (`group_caps`) and the validated auction candidates (`candidates`). The
process keeps one snapshot for `SWIPEME_ADS_ELIGIBLE_TTL` seconds (`serve.inventory`)."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import redis

from . import auction, caps, predict
from .conf import conf

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadSettings:
    enabled: bool
    min_gap: int
    max_gap: int
    reserve_cpm_micros: int


@dataclass(frozen=True)
class Inventory:
    ads: list[Any]  # selectors.ServableAd, playable
    playback: dict[int, dict[str, Any]]  # asset id -> playback
    daily_budget: dict[int, int]  # campaign id -> what it may spend today
    load: LoadSettings
    read_at: float
    # Worked out once per snapshot, not per page (`_eligible`, `_candidates`): the ads
    # matching each kind of viewer and quarter hour, and each (predictor, age band,
    # signed-in) kind of viewer's validated auction candidates. Dropped with the snapshot.
    eligible: dict[tuple[Any, ...], tuple[Any, ...]] = field(default_factory=dict)
    candidates: dict[tuple[Any, ...], dict[int, auction.Candidate]] = field(default_factory=dict)
    group_caps: dict[int, caps.Cap] = field(default_factory=dict)


def load_settings() -> LoadSettings:
    from apps.ads.models import DeliverySettings

    row = DeliverySettings.objects.filter(pk=1).first()
    if row is None:
        every = int(conf("SWIPEME_ADS_EVERY_N_POSTS"))
        return LoadSettings(
            enabled=bool(conf("SWIPEME_ADS_ENABLED")),
            min_gap=max(1, every - 1),
            max_gap=every + 1,
            reserve_cpm_micros=int(conf("SWIPEME_ADS_RESERVE_CPM_MICROS")),
        )
    return LoadSettings(
        enabled=row.ads_enabled,
        min_gap=row.min_gap,
        max_gap=row.max_gap,
        reserve_cpm_micros=row.reserve_cpm_micros,
    )


def daily_budgets(ads: list[Any], now: datetime) -> dict[int, int]:
    """Daily campaigns: their budget. Lifetime ones: what is left of it spread evenly over
    the days left (today included; all of it on the last day or without an end)."""
    from apps.ads.models import Campaign
    from apps.ads.selectors import budget_left

    out: dict[int, int] = {}
    lifetime = {a.campaign_id: a for a in ads if a.budget_kind == Campaign.BudgetKind.LIFETIME}
    for ad in ads:
        if ad.campaign_id not in lifetime:
            out[ad.campaign_id] = int(ad.budget_micros)
    if lifetime:
        left = budget_left(list(lifetime.values()), now)  # lifetime budget - spend to date
        today = spent_today_by_campaign(list(lifetime), now)
        ends = dict(Campaign.objects.filter(pk__in=list(lifetime)).values_list("id", "end_at"))
        for cid in lifetime:
            end = ends.get(cid)
            days = max(1, math.ceil((end - now) / timedelta(days=1))) if end else 1
            out[cid] = lifetime_allowance(left.get(cid, 0), today.get(cid, 0), days)
    return out


def lifetime_allowance(left: int, spent_today: int, days: int) -> int:
    """Today's share of a lifetime budget: what was left when the day began (`left` is after
    today's spend) over the days left, today included. The share is fixed for the day: with
    `spent_today + left // days` it grew with every charge and let a campaign spend nearly
    all of its budget on its first day."""
    return max(0, left + spent_today) // max(1, days)


def spent_today_by_campaign(campaign_ids: list[int], now: datetime) -> dict[int, int]:
    from .budget import spent

    return spent(campaign_ids, day=now)


def read_inventory(now: datetime) -> Inventory:
    from apps.ads.selectors import live_ads
    from apps.media.models import MediaAsset
    from apps.media.playback import playback_for

    load = load_settings()
    if not load.enabled:
        return Inventory([], {}, {}, load, time.monotonic())
    ads = live_ads(now)
    assets = MediaAsset.objects.in_bulk({a.asset_id for a in ads})
    playback: dict[int, dict[str, Any]] = {}
    for asset_id, asset in assets.items():
        found = playback_for(asset, public_version=None)
        if found is not None:
            playback[asset_id] = found
    playable = [a for a in ads if a.asset_id in playback]
    try:
        budgets = daily_budgets(playable, now)
    except redis.RedisError:
        budgets = {}
    return Inventory(playable, playback, budgets, load, time.monotonic())


def candidate(ad: Any, p_click: float, p_view: float, quality: float) -> auction.Candidate | None:
    strategy = ad.bid_strategy
    bid = ad.target_cost_micros if strategy == auction.TARGET_COST else ad.bid_micros
    if not bid or bid <= 0 or strategy not in auction.STRATEGIES:
        return None
    return auction.Candidate(
        ad_id=ad.ad_id,
        ad_group_id=ad.ad_group_id,
        campaign_id=ad.campaign_id,
        strategy=strategy,
        bid_micros=int(bid),
        p_click=float(p_click),
        p_view_2s=float(p_view),
        quality=float(quality),
        p_conversion=0.0,
        target_result=auction.OBJECTIVE_RESULT.get(ad.objective, auction.RESULT_CLICK)
        if strategy == auction.TARGET_COST
        else "",
    )


EligibleKey = tuple[str, str, str, str, bool, bool, int]
ELIGIBLE_KEYS = 4096  # kinds of viewer remembered per snapshot (it lives a few seconds)


def eligible(inv: Inventory, viewer: Any, now: datetime) -> list[Any]:
    """The snapshot's ads this viewer matches now (targeting, restricted categories,
    day-part, a budget for today). Everything but personal targeting depends only on the
    viewer's country, language, age band, device, adulthood and whether they may be
    targeted personally, and day-parts only on the quarter hour (every zone's offset is a
    multiple of 15 minutes): worked out once per such key and snapshot. Only a
    personalisable viewer's personal ads (interests, regions, audiences) are matched per
    page, and only those."""
    from apps.ads.selectors import in_daypart
    from apps.ads.targeting import viewer_matches

    key: EligibleKey = (
        viewer.country,
        viewer.language,
        viewer.age_band,
        viewer.device,
        viewer.known_adult,
        viewer.personalisable,
        int(now.timestamp()) // 900,
    )
    found = inv.eligible.get(key)
    if found is None:
        contextual: list[Any] = []
        personal: list[Any] = []
        for a in inv.ads:
            if a.campaign_id not in inv.daily_budget or not in_daypart(a, now):
                continue
            if a.targeting.personal:
                if viewer.personalisable:
                    personal.append(a)  # matched per viewer below
            elif viewer_matches(a.targeting, viewer, restricted_category=a.restricted_category):
                contextual.append(a)
        found = (tuple(contextual), tuple(personal))
        if len(inv.eligible) >= ELIGIBLE_KEYS:
            inv.eligible.clear()
        inv.eligible[key] = found
    contextual_ads, personal_ads = found
    if not personal_ads:
        return list(contextual_ads)
    return list(contextual_ads) + [
        a
        for a in personal_ads
        if viewer_matches(a.targeting, viewer, restricted_category=a.restricted_category)
    ]


def group_caps(inv: Inventory) -> dict[int, caps.Cap]:
    """Every ad group's frequency caps in the snapshot (made once per snapshot)."""
    if not inv.group_caps and inv.ads:
        inv.group_caps.update(
            {
                a.ad_group_id: caps.Cap(a.ad_group_id, a.frequency_cap_day, a.frequency_cap_week)
                for a in inv.ads
            }
        )
    return inv.group_caps


def candidates(inv: Inventory, viewer: Any) -> dict[int, auction.Candidate]:
    """The snapshot's auction candidates for this kind of viewer: the predictions depend
    only on the ad, the viewer's age band and whether they are signed in, so the whole
    snapshot is predicted in one vectorised call per (predictor, age band, signed in) and
    each candidate built and validated once, not per page (a bid the auction refuses is
    left out, as before)."""
    predictor = predict.current()
    key = (id(predictor), predictor.version, viewer.age_band, viewer.signed_in)
    found = inv.candidates.get(key)
    if found is not None:
        return found
    ads = inv.ads
    preds = predictor.predict(
        [a.ad_id for a in ads], age_band=viewer.age_band, signed_in=viewer.signed_in
    )
    p_click = preds.p_click.tolist()
    p_view = preds.p_view_2s.tolist()
    quality = preds.quality.tolist()
    built: dict[int, auction.Candidate] = {}
    for i, ad in enumerate(ads):
        cand = candidate(ad, p_click[i], p_view[i], quality[i])
        if cand is None:
            continue
        try:
            cand.validate()
        except auction.AuctionInputError:
            logger.warning("ads: ad %s left out of auctions: %s", ad.ad_id, cand)
            continue
        built[ad.ad_id] = cand
    inv.candidates[key] = built
    return built
