"""Campaigns: the form, the detail page with each ad group, and pausing or resuming.

Every object is looked up inside the member's org by apps.ads' selectors: another org's
ids are the same 404 as unknown ones."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.ads.models import Campaign, InventoryTier
from apps.ads.services import campaigns as ads_services
from apps.adsportal import reads
from apps.adsportal.access import Seat, portal_view, seat_for
from apps.adsportal.forms import (
    CampaignForm,
    amount_of,
    apply_errors,
    micros_of,
)
from apps.core.errors import ApplicationError
from apps.payments.money import format_money

# --- campaigns ----------------------------------------------------------------------------


def _campaign_form(
    seat: Seat,
    data: Any = None,
    *,
    campaign: Campaign | None = None,
) -> CampaignForm:
    initial: dict[str, Any] = {
        "budget_kind": "daily",
        "inventory_tier": "standard",
        "objective": "video_views",
    }
    if campaign is not None:
        tz = _zone(seat)
        initial = {
            "name": campaign.name,
            "objective": campaign.objective,
            "budget_kind": campaign.budget_kind,
            "budget": amount_of(campaign.budget_micros),
            "start_at": timezone.localtime(campaign.start_at, tz).replace(tzinfo=None),
            "end_at": (
                timezone.localtime(campaign.end_at, tz).replace(tzinfo=None)
                if campaign.end_at
                else None
            ),
            "inventory_tier": campaign.inventory_tier,
        }
    else:
        initial["start_at"] = timezone.localtime(timezone.now(), _zone(seat)).replace(
            tzinfo=None, second=0, microsecond=0
        )
    return CampaignForm(
        data,
        initial=initial,
        objectives=Campaign.Objective.choices,
        budget_kinds=Campaign.BudgetKind.choices,
        tiers=InventoryTier.choices,
    )


def _zone(seat: Seat) -> Any:
    import zoneinfo

    try:
        return zoneinfo.ZoneInfo(seat.org.timezone or "UTC")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")


def _campaign_values(seat: Seat, form: CampaignForm) -> dict[str, Any]:
    data = form.cleaned_data
    tz = _zone(seat)

    def aware(value: Any) -> Any:
        if value is None:
            return None
        return value.replace(tzinfo=tz) if timezone.is_naive(value) else value

    return {
        "name": data["name"],
        "objective": data["objective"],
        "budget_kind": data["budget_kind"],
        "budget_micros": micros_of(data["budget"]),
        "start_at": aware(data["start_at"]),
        "end_at": aware(data.get("end_at")),
        "inventory_tier": data["inventory_tier"],
    }


@portal_view
@require_http_methods(["GET", "HEAD", "POST"])
def campaign_new(request: HttpRequest, org_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_campaigns")
    form = _campaign_form(seat, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            campaign = ads_services.campaign_create(
                user=seat.user, org=seat.org, **_campaign_values(seat, form)
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(
                request, "Campaign created. Now add an ad group: who sees it and what you bid."
            )
            return redirect("adsportal:adgroup-new", seat.org.pk, campaign.pk)
    return render(
        request,
        "adsportal/campaign_form.html",
        {
            "seat": seat,
            "tab": "campaigns",
            "form": form,
            "campaign": None,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@portal_view
@require_http_methods(["GET", "HEAD", "POST"])
def campaign_edit(request: HttpRequest, org_id: str, campaign_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_campaigns")
    campaign = reads.get_campaign_of(seat, campaign_id)
    form = _campaign_form(
        seat, request.POST if request.method == "POST" else None, campaign=campaign
    )
    if request.method == "POST" and form.is_valid():
        try:
            ads_services.campaign_update(
                user=seat.user, campaign=campaign, **_campaign_values(seat, form)
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, "Campaign saved.")
            return redirect("adsportal:campaign", seat.org.pk, campaign.pk)
    return render(
        request,
        "adsportal/campaign_form.html",
        {
            "seat": seat,
            "tab": "campaigns",
            "form": form,
            "campaign": campaign,
        },
        status=400 if form.is_bound and form.errors else 200,
    )


@portal_view
@require_safe
def campaign(request: HttpRequest, org_id: str, campaign_id: str) -> HttpResponse:
    seat = seat_for(request, org_id)
    found = reads.get_campaign_of(seat, campaign_id)
    groups = reads.ad_groups_of(seat, found)
    delivery = reads.delivery_of(found)

    def money(micros: int | None) -> str | None:
        return None if micros is None else format_money(micros, seat.org.currency)

    return render(
        request,
        "adsportal/campaign.html",
        {
            "seat": seat,
            "tab": "campaigns",
            "campaign": found,
            "groups": groups,
            "budget": format_money(found.budget_micros, seat.org.currency),
            "delivery": delivery,
            "delivery_spent": money(delivery.spent_micros if delivery else None),
            "delivery_expected": money(delivery.expected_micros if delivery else None),
        },
    )


@portal_view
@require_POST
def campaign_status(request: HttpRequest, org_id: str, campaign_id: str) -> HttpResponse:
    """Start (active) or pause a campaign."""
    seat = seat_for(request, org_id, "edit_campaigns")
    found = reads.get_campaign_of(seat, campaign_id)
    wanted = request.POST.get("status", "")
    try:
        ads_services.campaign_set_status(user=seat.user, campaign=found, status=wanted)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Campaign started." if wanted == "active" else "Campaign paused.")
    return redirect("adsportal:campaign", seat.org.pk, found.pk)


# --- ad groups ----------------------------------------------------------------------------
