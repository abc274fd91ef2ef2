"""Ad groups: the form with targeting and day-parting, the detail page, and the audience-size
estimate (a JSON view the ad-group form fetches as targeting changes; without script the
estimate is shown after a submit). Lookups stay inside the member's org (apps.ads' selectors)."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts import locales
from apps.ads import targeting as ads_targeting
from apps.ads.conf import conf
from apps.ads.models import AdGroup, Campaign
from apps.ads.services import ad_groups as ads_services
from apps.ads.services import audiences as audience_services
from apps.adsportal import reads
from apps.adsportal.access import Seat, portal_view, seat_for
from apps.adsportal.forms import (
    AdGroupForm,
    amount_of,
    apply_errors,
    micros_of,
)
from apps.adsportal.throttle import THROTTLED_WORDS, allow_estimate
from apps.core.errors import ApplicationError
from apps.feed.topics import TOPICS
from apps.payments.money import format_money


def _group_choices(seat: Seat) -> dict[str, Any]:
    audiences = reads.audiences_of(seat)
    lookalikes = reads.lookalikes_of(seat)
    return {
        "bid_strategy": AdGroup.BidStrategy.choices,
        "placements": AdGroup.Placement.choices,
        "countries": list(locales.country_choices()),
        "languages": _languages(),
        "age_bands": [(b, b) for b in ads_targeting.AGE_BAND_NAMES],
        "interests": [(key, str(spec["label"])) for key, spec in TOPICS.items()],
        "devices": AdGroup.Device.choices,
        "topics": [(key, str(spec["label"])) for key, spec in TOPICS.items()],
        "custom_audiences": [
            (str(a.pk), f"{a.name} ({a.matched_count:,} matched)") for a in audiences
        ],
        "lookalikes": [
            (str(lk.pk), f"{lk.name} ({lk.matched_count:,} people)") for lk in lookalikes
        ],
    }


def _languages() -> list[tuple[str, str]]:
    """Primary language subtags (targeting matches "en", not "en-GB")."""
    seen: dict[str, str] = {}
    for code, label in locales.language_choices():
        primary = ads_targeting.norm_language(code)
        if primary and primary.isalpha() and primary not in seen and "-" not in code:
            seen[primary] = label
    return sorted(seen.items(), key=lambda row: row[1].casefold())


def _group_form(seat: Seat, data: Any = None, *, group: AdGroup | None = None) -> AdGroupForm:
    initial: dict[str, Any] = {
        "bid_strategy": "cpm",
        "placements": ["for_you"],
        "hour_from": 0,
        "hour_to": 24,
    }
    if group is not None:
        initial = {
            "name": group.name,
            "bid_strategy": group.bid_strategy,
            "bid": amount_of(group.bid_micros),
            "target_cost": amount_of(group.target_cost_micros),
            "frequency_cap_day": group.frequency_cap_day,
            "frequency_cap_week": group.frequency_cap_week,
            "placements": list(group.placements),
            "countries": list(group.countries),
            "regions": ", ".join(group.regions),
            "languages": list(group.languages),
            "age_bands": list(group.age_bands),
            "interests": list(group.interests),
            "devices": list(group.devices),
            "topics": list(group.topics),
            "custom_audiences": [
                str(pk) for pk in group.custom_audiences.values_list("pk", flat=True)
            ],
            "lookalikes": [str(pk) for pk in group.lookalikes.values_list("pk", flat=True)],
            **AdGroupForm.grid_initial(group.hours_of_week),
        }
    return AdGroupForm(data, initial=initial, choices=_group_choices(seat))


def _group_values(form: AdGroupForm) -> dict[str, Any]:
    data = form.cleaned_data
    strategy = data["bid_strategy"]
    return {
        "name": data["name"],
        "bid_strategy": strategy,
        "bid_micros": (
            None if strategy == "target_cost" or data.get("bid") is None else micros_of(data["bid"])
        ),
        "target_cost_micros": (
            micros_of(data["target_cost"])
            if strategy == "target_cost" and data.get("target_cost")
            else None
        ),
        "frequency_cap_day": data.get("frequency_cap_day"),
        "frequency_cap_week": data.get("frequency_cap_week"),
        "placements": list(data.get("placements") or []),
        "hours_of_week": form.hours_of_week(),
        **_targeting_fields(_targeting_of(data)),
    }


def _targeting_fields(targeting: ads_targeting.Targeting) -> dict[str, list[Any]]:
    """The ad-group services take targeting as keyword lists."""
    return {
        "countries": list(targeting.countries),
        "regions": list(targeting.regions),
        "languages": list(targeting.languages),
        "age_bands": list(targeting.age_bands),
        "interests": list(targeting.interests),
        "devices": list(targeting.devices),
        "custom_audience_ids": list(targeting.custom_audience_ids),
        "lookalike_ids": list(targeting.lookalike_ids),
        "topics": list(targeting.topics),
    }


def _targeting_of(data: dict[str, Any]) -> ads_targeting.Targeting:
    return ads_targeting.Targeting(
        countries=tuple(data.get("countries") or ()),
        regions=tuple(data.get("regions") or ()),
        languages=tuple(data.get("languages") or ()),
        age_bands=tuple(data.get("age_bands") or ()),
        interests=tuple(data.get("interests") or ()),
        devices=tuple(data.get("devices") or ()),
        custom_audience_ids=tuple(int(v) for v in data.get("custom_audiences") or ()),
        lookalike_ids=tuple(int(v) for v in data.get("lookalikes") or ()),
        topics=tuple(data.get("topics") or ()),
    )


def _estimate(seat: Seat, targeting: ads_targeting.Targeting) -> dict[str, Any]:
    """apps.ads' estimate in its words ("about 12,000 people", or "fewer than 100 people"
    when below the minimum: never narrowed to a few people), for the page and its script."""
    try:
        found = audience_services.audience_estimate(org=seat.org, targeting=targeting)
    except ApplicationError as error:
        return {"ok": False, "text": "", "message": error.message, "fields": error.fields}
    minimum = conf("SWIPEME_ADS_AUDIENCE_MIN_SIZE")
    return {
        "ok": True,
        "text": found.shown,
        "below_minimum": found.too_small,
        "note": "accounts that match, signed-out viewers not counted",
        "warning": (
            f"Fewer than {minimum:,} people match: this ad group would not "
            "serve. Widen the targeting."
            if found.too_small
            else ""
        ),
    }


def _group_page(
    request: HttpRequest,
    seat: Seat,
    campaign: Campaign,
    form: AdGroupForm,
    *,
    group: AdGroup | None,
    estimate: dict[str, Any] | None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "adsportal/adgroup_form.html",
        {
            "seat": seat,
            "tab": "campaigns",
            "campaign": campaign,
            "group": group,
            "form": form,
            "estimate": estimate,
            "currency": seat.org.currency,
            "estimate_url": reverse("adsportal:estimate", args=[seat.org.pk]),
            "min_audience": conf("SWIPEME_ADS_AUDIENCE_MIN_SIZE"),
        },
        status=status,
    )


def _save_group(
    request: HttpRequest, seat: Seat, campaign: Campaign, group: AdGroup | None
) -> HttpResponse:
    form = _group_form(seat, request.POST if request.method == "POST" else None, group=group)
    estimate = None
    if request.method == "POST":
        if form.is_valid():
            values = _group_values(form)
            try:
                if group is None:
                    group = ads_services.ad_group_create(
                        user=seat.user, campaign=campaign, **values
                    )
                    messages.success(request, "Ad group created. Now add an ad.")
                    return redirect("adsportal:ad-new", seat.org.pk, group.pk)
                ads_services.ad_group_update(user=seat.user, group=group, **values)
            except ApplicationError as error:
                apply_errors(form, error)
            else:
                messages.success(request, "Ad group saved.")
                return redirect("adsportal:adgroup", seat.org.pk, group.pk)
            estimate = _estimate(seat, _targeting_of(form.cleaned_data))
        return _group_page(
            request, seat, campaign, form, group=group, estimate=estimate, status=400
        )
    if group is not None:
        estimate = _estimate(seat, ads_targeting.Targeting.of(group))
    return _group_page(request, seat, campaign, form, group=group, estimate=estimate)


@portal_view
@require_http_methods(["GET", "HEAD", "POST"])
def adgroup_new(request: HttpRequest, org_id: str, campaign_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_campaigns")
    found = reads.get_campaign_of(seat, campaign_id)
    return _save_group(request, seat, found, None)


@portal_view
@require_http_methods(["GET", "HEAD", "POST"])
def adgroup_edit(request: HttpRequest, org_id: str, group_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_campaigns")
    group = reads.get_ad_group_of(seat, group_id)
    return _save_group(request, seat, group.campaign, group)


@portal_view
@require_safe
def adgroup(request: HttpRequest, org_id: str, group_id: str) -> HttpResponse:
    seat = seat_for(request, org_id)
    group = reads.get_ad_group_of(seat, group_id)
    ads = reads.ads_of(seat, group)
    currency = seat.org.currency
    return render(
        request,
        "adsportal/adgroup.html",
        {
            "seat": seat,
            "tab": "campaigns",
            "group": group,
            "campaign": group.campaign,
            "ads": ads,
            "bid": (format_money(group.bid_micros, currency) if group.bid_micros else None),
            "target_cost": (
                format_money(group.target_cost_micros, currency)
                if group.target_cost_micros
                else None
            ),
            "schedule": _schedule_words(group.hours_of_week),
            "audiences": list(group.custom_audiences.all()),
            "lookalikes": list(group.lookalikes.all()),
            "estimate": _estimate(seat, ads_targeting.Targeting.of(group)),
        },
    )


def _schedule_words(hours: list[int]) -> str:
    if not hours:
        return "Every day, all day"
    grid = AdGroupForm.grid_initial(hours)
    names = dict(AdGroupForm.base_fields["days"].choices)  # type: ignore[attr-defined]
    days = ", ".join(str(names[d]) for d in grid["days"]) if grid["days"] else "Every day"
    return f"{days}, {grid['hour_from']:02d}:00 to {grid['hour_to']:02d}:00"


@portal_view
@require_safe
def estimate(request: HttpRequest, org_id: str) -> HttpResponse:
    """The audience-size estimate of the targeting in the ad-group form's fields (sent as
    a query), as JSON for the page's script; throttled per user like the writes (each
    estimate is a count over the users table)."""
    seat = seat_for(request, org_id)
    if not allow_estimate(seat.user.pk):
        return JsonResponse({"ok": False, "message": THROTTLED_WORDS, "fields": {}}, status=429)
    form = _group_form(seat, request.GET)
    form.is_valid()  # only the targeting fields matter here; their errors are returned
    data = getattr(form, "cleaned_data", {})
    errors = {
        name: [str(e) for e in form.errors[name]]
        for name in AdGroupForm.TARGETING
        if name in form.errors
    }
    if errors:
        return JsonResponse(
            {"ok": False, "message": "Check the targeting.", "fields": errors}, status=400
        )
    found = _estimate(seat, _targeting_of(data))
    return JsonResponse(found, status=200 if found["ok"] else 400)


# --- ads ----------------------------------------------------------------------------------
