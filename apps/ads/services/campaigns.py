"""Campaigns: create, update and status, with validation in words (ad groups are
`ad_groups`, ads `ads`).

Bounds are settings (`apps.ads.conf`): budgets are integer micros (bools, floats and strings
refused), within [min, max]; a lifetime budget needs an end; a schedule ends after it starts
and lasts at most `SWIPEME_ADS_MAX_CAMPAIGN_DAYS`."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from apps.ads.conf import conf
from apps.ads.models import AdvertiserOrg, Campaign, InventoryTier
from apps.ads.services._fields import Errors, check_micros, clean_name, raise_errors
from apps.ads.services.orgs import Action, require
from apps.core.errors import ApplicationError, NotFoundError


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
    check_micros(
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
        name=clean_name(name, errors=errors),
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
    raise_errors(errors)
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
        setattr(campaign, key, clean_name(value, errors=errors) if key == "name" else value)
    _check_campaign(campaign, errors)
    raise_errors(errors)
    campaign.save()
    return campaign


def campaign_set_status(*, user: object, campaign: Campaign, status: str) -> Campaign:
    return campaign_update(user=user, campaign=campaign, status=status)


def campaign_of_org(org: AdvertiserOrg, campaign_id: int) -> Campaign:
    found = Campaign.objects.filter(org=org, pk=campaign_id).first()
    if found is None:
        raise NotFoundError("No such campaign.")
    return found
