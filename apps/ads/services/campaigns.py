"""Campaigns, ad groups and ads: create and update with validation, in words.

Bounds are settings (`apps.ads.conf`): budgets and bids are integer micros (bools, floats
and strings refused), within [min, max]; a lifetime budget needs an end; a schedule ends
after it starts and lasts at most `SWIPEME_ADS_MAX_CAMPAIGN_DAYS`. Targeting is checked by
`apps.ads.targeting.validate_targeting`. A change to an ad's creative, landing URL,
display name or category sends it back to review (an approved ad never serves content
nobody reviewed)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.ads.conf import conf
from apps.ads.hooks import creative_granted
from apps.ads.models import (
    Ad,
    AdGroup,
    AdvertiserOrg,
    Campaign,
    CustomAudience,
    InventoryTier,
    Lookalike,
    RestrictedCategory,
)
from apps.ads.services.landing import validate_landing_url
from apps.ads.services.orgs import Action, require
from apps.ads.targeting import Targeting, validate_targeting
from apps.core.errors import ApplicationError, NotFoundError
from apps.media.models import MediaAsset

Errors = dict[str, list[str]]


def _micros(
    value: Any, *, name: str, low: int, high: int, errors: Errors, label: str
) -> int | None:
    if type(value) is not int:  # bool is an int subclass: refused too
        errors.setdefault(name, []).append(f"{label} must be a whole number of micros.")
        return None
    if value < low:
        errors.setdefault(name, []).append(f"{label} must be at least {low:,} micros.")
    elif value > high:
        errors.setdefault(name, []).append(f"{label} must be at most {high:,} micros.")
    return value


def _name(value: Any, *, errors: Errors, field: str = "name") -> str:
    name = " ".join(str(value or "").split())
    if not 1 <= len(name) <= 120:
        errors.setdefault(field, []).append("Give it a name (up to 120 characters).")
    return name


def _raise(errors: Errors, message: str = "Check the highlighted fields.") -> None:
    if errors:
        raise ApplicationError(message, code="invalid", fields=errors)


# --- campaigns -------------------------------------------------------------------------------


def _check_campaign(c: Campaign, errors: Errors) -> None:
    if c.objective not in Campaign.Objective.values:
        errors.setdefault("objective", []).append(
            "One of " + ", ".join(Campaign.Objective.values) + "."
        )
    if c.budget_kind not in Campaign.BudgetKind.values:
        errors.setdefault("budget_kind", []).append("daily or lifetime.")
    low = (
        conf("SWIPEME_ADS_MIN_DAILY_BUDGET_MICROS")
        if c.budget_kind == Campaign.BudgetKind.DAILY
        else conf("SWIPEME_ADS_MIN_LIFETIME_BUDGET_MICROS")
    )
    _micros(
        c.budget_micros,
        name="budget_micros",
        low=low,
        high=conf("SWIPEME_ADS_MAX_BUDGET_MICROS"),
        errors=errors,
        label="The budget",
    )
    if c.inventory_tier not in InventoryTier.values:
        errors.setdefault("inventory_tier", []).append(
            "One of " + ", ".join(InventoryTier.values) + "."
        )
    if not isinstance(c.start_at, datetime):
        errors.setdefault("start_at", []).append("A start date and time.")
        return
    if c.end_at is not None:
        if not isinstance(c.end_at, datetime):
            errors.setdefault("end_at", []).append("An end date and time.")
        elif c.end_at <= c.start_at:
            errors.setdefault("end_at", []).append("The end must be after the start.")
        elif c.end_at - c.start_at > timedelta(days=conf("SWIPEME_ADS_MAX_CAMPAIGN_DAYS")):
            errors.setdefault("end_at", []).append(
                f"A campaign runs at most {conf('SWIPEME_ADS_MAX_CAMPAIGN_DAYS')} days."
            )
        elif c.end_at <= timezone.now() and c.status == Campaign.Status.ACTIVE:
            errors.setdefault("end_at", []).append("The end is in the past.")
    elif c.budget_kind == Campaign.BudgetKind.LIFETIME:
        errors.setdefault("end_at", []).append("A lifetime budget needs an end date.")
    if c.status not in Campaign.Status.values:
        errors.setdefault("status", []).append("Unknown status.")


CAMPAIGN_FIELDS = (
    "name",
    "objective",
    "budget_kind",
    "budget_micros",
    "start_at",
    "end_at",
    "inventory_tier",
    "status",
)


def campaign_create(
    *,
    user: object,
    org: AdvertiserOrg,
    name: str,
    objective: str,
    budget_kind: str,
    budget_micros: int,
    start_at: datetime,
    end_at: datetime | None = None,
    inventory_tier: str = InventoryTier.STANDARD,
) -> Campaign:
    require(user, org.pk, Action.EDIT_CAMPAIGNS)
    errors: Errors = {}
    campaign = Campaign(
        org=org,
        name=_name(name, errors=errors),
        objective=objective,
        budget_kind=budget_kind,
        budget_micros=budget_micros,
        start_at=start_at,
        end_at=end_at,
        inventory_tier=inventory_tier,
        status=Campaign.Status.DRAFT,
        created_by_id=getattr(user, "pk", None),
    )
    _check_campaign(campaign, errors)
    _raise(errors)
    campaign.save()
    return campaign


def campaign_update(*, user: object, campaign: Campaign, **changes: Any) -> Campaign:
    """Change fields of CAMPAIGN_FIELDS; `status` moves draft/paused → active → paused,
    and any → ended (final)."""
    require(user, campaign.org_id, Action.EDIT_CAMPAIGNS)
    unknown = set(changes) - set(CAMPAIGN_FIELDS)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", fields={k: ["Not a campaign field."] for k in sorted(unknown)}
        )
    if campaign.status == Campaign.Status.ENDED:
        raise ApplicationError("This campaign has ended; create a new one.", code="campaign_ended")
    errors: Errors = {}
    for key, value in changes.items():
        setattr(campaign, key, _name(value, errors=errors) if key == "name" else value)
    _check_campaign(campaign, errors)
    _raise(errors)
    campaign.save()
    return campaign


def campaign_set_status(*, user: object, campaign: Campaign, status: str) -> Campaign:
    return campaign_update(user=user, campaign=campaign, status=status)


# --- ad groups -------------------------------------------------------------------------------


def _audiences(
    org: AdvertiserOrg,
    ids: Iterable[Any],
    model: type[CustomAudience] | type[Lookalike],
    name: str,
    errors: Errors,
) -> list[int]:
    wanted: list[int] = []
    for raw in ids:
        if type(raw) is not int:
            errors.setdefault(name, []).append("Audience ids are whole numbers.")
            return []
        wanted.append(raw)
    # Another org's audience is "not found", as one that does not exist.
    found = set(model.objects.filter(org=org, pk__in=wanted).values_list("pk", flat=True))
    if set(wanted) - found:
        errors.setdefault(name, []).append("No such audience in this account.")
    return [pk for pk in wanted if pk in found]


def _check_group(g: AdGroup, errors: Errors) -> None:
    low, high = conf("SWIPEME_ADS_MIN_BID_MICROS"), conf("SWIPEME_ADS_MAX_BID_MICROS")
    if g.bid_strategy not in AdGroup.BidStrategy.values:
        errors.setdefault("bid_strategy", []).append(
            "One of " + ", ".join(AdGroup.BidStrategy.values) + "."
        )
    elif g.bid_strategy == AdGroup.BidStrategy.TARGET_COST:
        _micros(
            g.target_cost_micros,
            name="target_cost_micros",
            low=low,
            high=high,
            errors=errors,
            label="The target cost",
        )
        g.bid_micros = None
    else:
        _micros(g.bid_micros, name="bid_micros", low=low, high=high, errors=errors, label="The bid")
        g.target_cost_micros = None
    cap = conf("SWIPEME_ADS_MAX_FREQUENCY_CAP")
    for name in ("frequency_cap_day", "frequency_cap_week"):
        value = getattr(g, name)
        if value is not None and (type(value) is not int or not 1 <= value <= cap):
            errors.setdefault(name, []).append(f"Between 1 and {cap} impressions, or none.")
    if (
        type(g.frequency_cap_day) is int
        and type(g.frequency_cap_week) is int
        and g.frequency_cap_week < g.frequency_cap_day
    ):
        errors.setdefault("frequency_cap_week", []).append(
            "The weekly cap cannot be below the daily cap."
        )
    placements = list(dict.fromkeys(g.placements or [AdGroup.Placement.FOR_YOU]))
    if any(p not in AdGroup.Placement.values for p in placements):
        errors.setdefault("placements", []).append("For You is the only placement for now.")
    g.placements = placements
    hours = g.hours_of_week or []
    if any(type(h) is not int or not 0 <= h < 168 for h in hours):
        errors.setdefault("hours_of_week", []).append(
            "Hours of the week are 0 (Monday 00:00) to 167 (Sunday 23:00)."
        )
    elif len(set(hours)) == 168:
        hours = []  # every hour = always
    g.hours_of_week = sorted(set(hours))
    if g.status not in AdGroup.Status.values:
        errors.setdefault("status", []).append("active or paused.")


GROUP_FIELDS = (
    "name",
    "status",
    "bid_strategy",
    "bid_micros",
    "target_cost_micros",
    "frequency_cap_day",
    "frequency_cap_week",
    "placements",
    "hours_of_week",
)
TARGETING_FIELDS = (
    "countries",
    "regions",
    "languages",
    "age_bands",
    "interests",
    "devices",
    "custom_audience_ids",
    "lookalike_ids",
    "topics",
)


def _save_group(
    group: AdGroup, *, org: AdvertiserOrg, targeting: dict[str, Any], errors: Errors
) -> AdGroup:
    audience_ids = _audiences(
        org,
        targeting.get("custom_audience_ids") or [],
        CustomAudience,
        "custom_audience_ids",
        errors,
    )
    lookalike_ids = _audiences(
        org, targeting.get("lookalike_ids") or [], Lookalike, "lookalike_ids", errors
    )
    _check_group(group, errors)
    restricted = (
        set()
        if group._state.adding
        else set(group.ads.values_list("restricted_category", flat=True))
    )
    raw = Targeting(
        **{
            k: tuple(targeting.get(k) or ())
            for k in TARGETING_FIELDS
            if k not in ("custom_audience_ids", "lookalike_ids")
        },
        custom_audience_ids=tuple(audience_ids),
        lookalike_ids=tuple(lookalike_ids),
    )
    try:
        normal = validate_targeting(raw, restricted_categories=restricted)
    except ApplicationError as exc:
        for key, messages in (exc.fields or {}).items():
            errors.setdefault(key, []).extend(messages)
        normal = raw
    _raise(errors)
    for key in ("countries", "regions", "languages", "age_bands", "interests", "devices", "topics"):
        setattr(group, key, list(getattr(normal, key)))
    with transaction.atomic():
        group.save()
        group.custom_audiences.set(normal.custom_audience_ids)
        group.lookalikes.set(normal.lookalike_ids)
    return group


def ad_group_create(
    *,
    user: object,
    campaign: Campaign,
    name: str,
    bid_strategy: str,
    bid_micros: int | None = None,
    target_cost_micros: int | None = None,
    frequency_cap_day: int | None = None,
    frequency_cap_week: int | None = None,
    placements: list[str] | None = None,
    hours_of_week: list[int] | None = None,
    **targeting: Any,
) -> AdGroup:
    require(user, campaign.org_id, Action.EDIT_CAMPAIGNS)
    errors: Errors = {}
    unknown = set(targeting) - set(TARGETING_FIELDS)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", fields={k: ["Not an ad group field."] for k in sorted(unknown)}
        )
    group = AdGroup(
        campaign=campaign,
        name=_name(name, errors=errors),
        bid_strategy=bid_strategy,
        bid_micros=bid_micros,
        target_cost_micros=target_cost_micros,
        frequency_cap_day=frequency_cap_day,
        frequency_cap_week=frequency_cap_week,
        placements=placements or [],
        hours_of_week=hours_of_week or [],
    )
    return _save_group(group, org=campaign.org, targeting=targeting, errors=errors)


def ad_group_update(*, user: object, group: AdGroup, **changes: Any) -> AdGroup:
    require(user, group.campaign.org_id, Action.EDIT_CAMPAIGNS)
    unknown = set(changes) - set(GROUP_FIELDS) - set(TARGETING_FIELDS)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", fields={k: ["Not an ad group field."] for k in sorted(unknown)}
        )
    errors: Errors = {}
    targeting: dict[str, Any] = {
        "countries": group.countries,
        "regions": group.regions,
        "languages": group.languages,
        "age_bands": group.age_bands,
        "interests": group.interests,
        "devices": group.devices,
        "custom_audience_ids": list(group.custom_audiences.values_list("pk", flat=True)),
        "lookalike_ids": list(group.lookalikes.values_list("pk", flat=True)),
        "topics": group.topics,
    }
    for key, value in changes.items():
        if key in TARGETING_FIELDS:
            targeting[key] = value
        else:
            setattr(group, key, _name(value, errors=errors) if key == "name" else value)
    return _save_group(group, org=group.campaign.org, targeting=targeting, errors=errors)


# --- ads -------------------------------------------------------------------------------------


REVIEWED_FIELDS = (
    "asset_id",
    "display_name",
    "landing_url",
    "redirect_disclosed",
    "restricted_category",
    "cta",
)
AD_FIELDS = ("name", "status", *REVIEWED_FIELDS)


def _check_ad(ad: Ad, *, org: AdvertiserOrg, errors: Errors) -> None:
    display = " ".join(str(ad.display_name or "").split())
    if not 1 <= len(display) <= 50:
        errors.setdefault("display_name", []).append(
            "The name shown on the ad (up to 50 characters)."
        )
    ad.display_name = display
    if ad.cta not in Ad.CallToAction.values:
        errors.setdefault("cta", []).append("Unknown call to action.")
    if ad.restricted_category not in RestrictedCategory.values:
        errors.setdefault("restricted_category", []).append("Unknown category.")
    if ad.status not in Ad.Status.values:
        errors.setdefault("status", []).append("active or paused.")
    try:
        ad.landing_url = validate_landing_url(str(ad.landing_url or ""))
    except ApplicationError as exc:
        errors.setdefault("landing_url", []).append(exc.message)
    asset = (
        MediaAsset.objects.filter(pk=ad.asset_id).only("owner_id", "state").first()
        if type(ad.asset_id) is int
        else None
    )
    # The creative must have been uploaded by a member of this org (never someone else's
    # video by its id), or granted to it (a creator's post the org may run: ads.hooks).
    if asset is None or not (
        org.memberships.filter(user_id=asset.owner_id).exists()
        or creative_granted(org_id=org.pk, asset_id=ad.asset_id)
    ):
        errors.setdefault("asset_id", []).append("Upload the video for this ad first.")
    elif asset.state == MediaAsset.State.FAILED:
        errors.setdefault("asset_id", []).append("This upload failed; upload it again.")
    if ad.restricted_category:
        group = ad.ad_group
        if not group.age_bands or "13-17" in group.age_bands:
            errors.setdefault("restricted_category", []).append(
                "Ads in this category may only be shown to adults: set the ad group's age "
                "bands to 18 and over first."
            )


def ad_create(
    *,
    user: object,
    group: AdGroup,
    name: str,
    asset_id: int,
    display_name: str,
    landing_url: str,
    cta: str = Ad.CallToAction.LEARN_MORE,
    restricted_category: str = "",
    redirect_disclosed: bool = False,
) -> Ad:
    org = group.campaign.org
    require(user, org.pk, Action.EDIT_CAMPAIGNS)
    errors: Errors = {}
    ad = Ad(
        ad_group=group,
        name=_name(name, errors=errors),
        asset_id=asset_id,
        display_name=display_name,
        landing_url=landing_url,
        cta=cta,
        restricted_category=restricted_category or "",
        redirect_disclosed=bool(redirect_disclosed),
        review_state=Ad.Review.DRAFT,
    )
    _check_ad(ad, org=org, errors=errors)
    _raise(errors)
    ad.save()
    return ad


def ad_update(*, user: object, ad: Ad, **changes: Any) -> Ad:
    org = ad.ad_group.campaign.org
    require(user, org.pk, Action.EDIT_CAMPAIGNS)
    unknown = set(changes) - set(AD_FIELDS)
    if unknown:
        raise ApplicationError(
            "Unknown fields.", fields={k: ["Not an ad field."] for k in sorted(unknown)}
        )
    errors: Errors = {}
    reviewed_change = False
    for key, value in changes.items():
        if key in REVIEWED_FIELDS and getattr(ad, key) != value:
            reviewed_change = True
        setattr(ad, key, _name(value, errors=errors) if key == "name" else value)
    _check_ad(ad, org=org, errors=errors)
    _raise(errors)
    if reviewed_change and ad.review_state != Ad.Review.DRAFT:
        # Back to review: what serves is always what was reviewed.
        ad.review_state = Ad.Review.DRAFT
        ad.review_reasons = ["You changed the ad: submit it for review again."]
        ad.landing_final_url = ""
    ad.save()
    return ad


def campaign_of_org(org: AdvertiserOrg, campaign_id: int) -> Campaign:
    found = Campaign.objects.filter(org=org, pk=campaign_id).first()
    if found is None:
        raise NotFoundError("No such campaign.")
    return found
