"""Ad groups: bid, caps, placements, hours and targeting, created and updated with
validation in words. Bids are integer micros within the settings' bounds; targeting is
checked by `apps.ads.targeting.validate_targeting` (with the restricted categories of the
group's ads); audiences are the org's own ("not found" otherwise)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction

from apps.ads.conf import conf
from apps.ads.models import AdGroup, AdvertiserOrg, Campaign, CustomAudience, Lookalike
from apps.ads.services._fields import Errors, check_micros, clean_name, raise_errors
from apps.ads.services.orgs import Action, require
from apps.ads.targeting import Targeting, validate_targeting
from apps.core.errors import ApplicationError


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
        check_micros(
            g.target_cost_micros,
            name="target_cost_micros",
            low=low,
            high=high,
            errors=errors,
            label="The target cost",
        )
        g.bid_micros = None
    else:
        check_micros(
            g.bid_micros, name="bid_micros", low=low, high=high, errors=errors, label="The bid"
        )
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
    raise_errors(errors)
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
        name=clean_name(name, errors=errors),
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
            setattr(group, key, clean_name(value, errors=errors) if key == "name" else value)
    return _save_group(group, org=group.campaign.org, targeting=targeting, errors=errors)
