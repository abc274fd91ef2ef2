"""Ads: the form, the creative upload (the media API's signed resumable upload, the same calls
the creator upload page makes; static/js/adsportal/creative.js), the Sponsored preview, and
the review status with its reasons and resubmission. Lookups stay inside the member's org."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.ads.models import Ad, AdGroup, RestrictedCategory
from apps.ads.services import ads as ads_services
from apps.ads.services import review as review_services
from apps.adsportal import reads
from apps.adsportal.access import Seat, portal_view, seat_for
from apps.adsportal.forms import (
    AdForm,
    apply_errors,
)
from apps.core.errors import ApplicationError
from apps.core.ids import parse_id
from apps.media.playback import playback_for


def _ad_form(data: Any = None, *, ad: Ad | None = None) -> AdForm:
    initial: dict[str, Any] = {"cta": "learn_more"}
    if ad is not None:
        initial = {
            "name": ad.name,
            "asset_id": str(ad.asset_id),
            "display_name": ad.display_name,
            "cta": ad.cta,
            "landing_url": ad.landing_url,
            "redirect_disclosed": ad.redirect_disclosed,
            "restricted_category": ad.restricted_category,
        }
    return AdForm(
        data, initial=initial, ctas=Ad.CallToAction.choices, categories=RestrictedCategory.choices
    )


def _upload_config(request: HttpRequest) -> dict[str, Any]:
    """What static/js/adsportal/creative.js needs: the media API the upload page uses."""
    return {
        "uploads_url": reverse("v1:media-uploads"),
        "asset_url": reverse("v1:media-asset", args=[0]).removesuffix("0"),
        "max_bytes": settings.MEDIA_UPLOAD_MAX_BYTES,
    }


def _ad_values(form: AdForm) -> dict[str, Any]:
    data = form.cleaned_data
    return {
        "name": data["name"],
        "asset_id": parse_id(str(data["asset_id"])) or 0,
        "display_name": data["display_name"],
        "cta": data["cta"],
        "landing_url": data["landing_url"],
        "redirect_disclosed": bool(data.get("redirect_disclosed")),
        "restricted_category": data.get("restricted_category") or "",
    }


def _ad_page(
    request: HttpRequest,
    seat: Seat,
    group: AdGroup,
    form: AdForm,
    *,
    ad: Ad | None,
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "adsportal/ad_form.html",
        {
            "seat": seat,
            "tab": "campaigns",
            "group": group,
            "campaign": group.campaign,
            "ad": ad,
            "form": form,
            "upload_config": _upload_config(request),
            "preview": _preview(ad)
            if ad is not None
            else {
                "playback": None,
                "display_name": form["display_name"].value() or "",
                "cta": Ad.CallToAction(form["cta"].value() or "learn_more").label
                if (form["cta"].value() or "learn_more") in Ad.CallToAction.values
                else "",
                "asset_state": "",
                "asset_reason": "",
            },
        },
        status=status,
    )


@portal_view
@require_http_methods(["GET", "HEAD", "POST"])
def ad_new(request: HttpRequest, org_id: str, group_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_campaigns")
    group = reads.get_ad_group_of(seat, group_id)
    form = _ad_form(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            ad = ads_services.ad_create(user=seat.user, group=group, **_ad_values(form))
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            return _submit(request, seat, ad)
    return _ad_page(
        request, seat, group, form, ad=None, status=400 if form.is_bound and form.errors else 200
    )


def _submit(request: HttpRequest, seat: Seat, ad: Ad) -> HttpResponse:
    """Send the saved ad to review (the automated checks run now; a person reviews it
    after them) and show where it stands."""
    try:
        review_services.ad_submit(user=seat.user, ad=ad)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("adsportal:ad", seat.org.pk, ad.pk)
    ad.refresh_from_db()
    if ad.review_state == Ad.Review.REJECTED:
        messages.error(
            request,
            "The automated checks rejected this ad. The reasons are "
            "below: fix them and submit again.",
        )
    else:
        messages.success(
            request,
            "Submitted for review. Ads are usually reviewed within "
            "a day; the status is shown here.",
        )
    return redirect("adsportal:ad", seat.org.pk, ad.pk)


@portal_view
@require_http_methods(["GET", "HEAD", "POST"])
def ad_edit(request: HttpRequest, org_id: str, ad_id: str) -> HttpResponse:
    """Fix an ad (a rejected one, typically) and submit it again."""
    seat = seat_for(request, org_id, "edit_campaigns")
    ad = reads.get_ad_of(seat, ad_id)
    form = _ad_form(request.POST if request.method == "POST" else None, ad=ad)
    if request.method == "POST" and form.is_valid():
        try:
            ads_services.ad_update(user=seat.user, ad=ad, **_ad_values(form))
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            ad.refresh_from_db()
            if ad.review_state in (Ad.Review.DRAFT, Ad.Review.REJECTED):
                return _submit(request, seat, ad)
            messages.success(request, "Ad saved.")
            return redirect("adsportal:ad", seat.org.pk, ad.pk)
    return _ad_page(
        request,
        seat,
        ad.ad_group,
        form,
        ad=ad,
        status=400 if form.is_bound and form.errors else 200,
    )


def _preview(ad: Ad) -> dict[str, Any]:
    """The creative as the feed shows it: video (signed, expiring URLs), display name,
    "Sponsored", the CTA button."""
    playback = playback_for(ad.asset, public_version=None)
    return {
        "playback": playback,
        "display_name": ad.display_name,
        "cta": Ad.CallToAction(ad.cta).label,
        "asset_state": ad.asset.state,
        "asset_reason": ad.asset.state_reason,
    }


def reasons_of(ad: Ad) -> list[str]:
    """The review's reasons for the advertiser, in words (apps.ads stores them as text;
    a structured reason shows its message)."""
    out: list[str] = []
    for reason in ad.review_reasons or []:
        if isinstance(reason, dict):
            text = reason.get("message") or reason.get("reason") or ""
        else:
            text = str(reason)
        if text:
            out.append(str(text))
    return out


@portal_view
@require_safe
def ad(request: HttpRequest, org_id: str, ad_id: str) -> HttpResponse:
    seat = seat_for(request, org_id)
    found = reads.get_ad_of(seat, ad_id)
    return render(
        request,
        "adsportal/ad.html",
        {
            "seat": seat,
            "tab": "campaigns",
            "ad": found,
            "group": found.ad_group,
            "campaign": found.ad_group.campaign,
            "preview": _preview(found),
            "reasons": reasons_of(found),
        },
    )


@portal_view
@require_POST
def ad_resubmit(request: HttpRequest, org_id: str, ad_id: str) -> HttpResponse:
    """Send a rejected (or not yet submitted) ad to review again, unchanged (say, after the
    landing page itself was fixed)."""
    seat = seat_for(request, org_id, "edit_campaigns")
    found = reads.get_ad_of(seat, ad_id)
    return _submit(request, seat, found)
