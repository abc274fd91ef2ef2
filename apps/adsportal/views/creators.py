"""The brand's side of the creator marketplace (apps.marketplace's services and selectors):
search creators by audience and performance, shortlist them, invite one with a brief and a
fee, and run the deal (answer a counter, approve the draft or ask for changes, cancel,
dispute, write) with its report. Every refusal is shown on the page in words."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.ads.models import Ad
from apps.adsportal.access import portal_view, seat_for
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import parse_id
from apps.feed.topics import TOPICS
from apps.marketplace import selectors
from apps.marketplace.models import CreatorProfile
from apps.marketplace.services import deals, shortlist, spark

PAGE = 50


def _int(raw: str | None, scale: int = 1) -> int | None:
    """A search box's number (whole or decimal) scaled to the stored unit; blank or not a
    number is no filter."""
    try:
        return round(float(raw or "") * scale) if raw not in (None, "") else None
    except (ValueError, OverflowError):  # words, nan, inf
        return None


@portal_view
@require_http_methods(["GET"])
def creators(request: HttpRequest, org_id: str) -> HttpResponse:
    seat = seat_for(request, org_id)
    q = request.GET
    query = selectors.CreatorSearch(
        country=(q.get("country") or "").strip()[:2],
        language=(q.get("language") or "").strip(),
        topic=q.get("topic", "") if q.get("topic") in TOPICS else "",
        min_followers=_int(q.get("min_followers")),
        max_followers=_int(q.get("max_followers")),
        min_engagement_bp=_int(q.get("min_engagement"), 100),
        max_rate_minor=_int(q.get("max_price"), 100),
    )
    found = list(selectors.search_creators(query)[:PAGE])
    shortlisted = set(
        selectors.shortlist_of(seat.user, seat.org.pk).values_list("creator_id", flat=True)
    )
    return render(
        request,
        "adsportal/creators.html",
        {
            "seat": seat,
            "tab": "creators",
            "found": found,
            "shortlisted": shortlisted,
            "topics": TOPICS,
            "q": q,
            "shortlist": selectors.shortlist_of(seat.user, seat.org.pk),
        },
    )


@portal_view
@require_POST
def shortlist_toggle(request: HttpRequest, org_id: str, creator_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_campaigns")
    pk = parse_id(creator_id) or 0
    try:
        if request.POST.get("remove"):
            shortlist.shortlist_remove(user=seat.user, org=seat.org, creator_id=pk)
        else:
            shortlist.shortlist_add(user=seat.user, org=seat.org, creator_id=pk)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("adsportal:creators", args=[seat.org.pk]))


@portal_view
@require_http_methods(["GET", "POST"])
def invite(request: HttpRequest, org_id: str, creator_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_campaigns")
    profile = (
        CreatorProfile.objects.select_related("user")
        .filter(user_id=parse_id(creator_id) or 0, status=CreatorProfile.Status.ACTIVE)
        .first()
    )
    if profile is None:
        raise Http404("No such creator.")
    error, status = "", 200
    if request.method == "POST":
        data = request.POST
        hashtags = [h for h in data.get("hashtags", "").replace(",", " ").split() if h]
        try:
            deal = deals.deal_invite(
                user=seat.user,
                org=seat.org,
                creator_id=profile.user_id,
                title=data.get("title", ""),
                brief=data.get("brief", ""),
                deliverables={
                    "posts": _int(data.get("posts")) or 1,
                    "due_date": data.get("due_date") or None,
                    "hashtags": hashtags,
                    "may_run_as_ad": data.get("may_run_as_ad") == "on",
                    "restricted_category": data.get("restricted_category", ""),
                },
                fee_minor=_int(data.get("fee"), 100),
            )
        except ApplicationError as exc:
            error, status = exc.message, 400
        else:
            messages.success(request, f"Invitation sent to @{profile.user.username}.")
            return redirect(reverse("adsportal:deal", args=[seat.org.pk, deal.pk]))
    return render(
        request,
        "adsportal/invite.html",
        {
            "seat": seat,
            "tab": "creators",
            "profile": profile,
            "error": error,
            "form": request.POST if request.method == "POST" else {},
        },
        status=status,
    )


@portal_view
@require_http_methods(["GET"])
def deal_list(request: HttpRequest, org_id: str) -> HttpResponse:
    seat = seat_for(request, org_id)
    return render(
        request,
        "adsportal/deals.html",
        {
            "seat": seat,
            "tab": "deals",
            "deals": list(selectors.deals_of_org(seat.user, seat.org.pk)[:200]),
        },
    )


def _deal_or_404(seat: Any, deal_id: str) -> Any:
    try:
        deal = selectors.deal_for(seat.user, parse_id(deal_id) or 0)
    except NotFoundError as exc:
        raise Http404("No such deal.") from exc
    if deal.org_id != seat.org.pk:
        raise Http404("No such deal.")
    return deal


@portal_view
@require_http_methods(["GET"])
def deal(request: HttpRequest, org_id: str, deal_id: str) -> HttpResponse:
    seat = seat_for(request, org_id)
    found = _deal_or_404(seat, deal_id)
    report = (
        selectors.deal_report(seat.user, found.pk)
        if seat.can("see_reports")
        else {"published": False}
    )
    return render(
        request,
        "adsportal/deal.html",
        {
            "seat": seat,
            "tab": "deals",
            "deal": found,
            "report": report,
            "thread": list(selectors.messages_of(found)),
            "spark_groups": selectors.spark_ad_groups(seat.user, found)
            if seat.can("edit_campaigns")
            else [],
            "ctas": Ad.CallToAction.choices,
        },
    )


STEPS: dict[str, Callable[..., Any]] = {
    "approve": lambda user, pk, data: deals.deal_approve(user=user, deal_id=pk),
    "changes": lambda user, pk, data: deals.deal_request_changes(
        user=user, deal_id=pk, notes=data.get("notes", "")
    ),
    "accept_counter": lambda user, pk, data: deals.deal_counter_answer(
        user=user, deal_id=pk, accept=True
    ),
    "counter": lambda user, pk, data: deals.deal_counter_answer(
        user=user, deal_id=pk, accept=False, fee_minor=_int(data.get("fee"), 100)
    ),
    "cancel": lambda user, pk, data: deals.deal_cancel(
        user=user, deal_id=pk, reason=data.get("reason", "")
    ),
    "dispute": lambda user, pk, data: deals.deal_dispute(
        user=user, deal_id=pk, reason=data.get("reason", "")
    ),
    "message": lambda user, pk, data: deals.deal_message(
        user=user, deal_id=pk, body=data.get("body", "")
    ),
    "spark": lambda user, pk, data: spark.spark_ad_create(
        user=user,
        deal_id=pk,
        ad_group_id=parse_id(data.get("ad_group", "")),
        landing_url=data.get("landing_url", ""),
        cta=data.get("cta", Ad.CallToAction.LEARN_MORE),
    ),
}


@portal_view
@require_POST
def deal_step(request: HttpRequest, org_id: str, deal_id: str, step: str) -> HttpResponse:
    seat = seat_for(request, org_id, "edit_campaigns")
    found = _deal_or_404(seat, deal_id)
    if step not in STEPS:
        raise Http404("No such step.")
    try:
        STEPS[step](seat.user, found.pk, request.POST)
    except ApplicationError as exc:
        details = [m for told in (exc.fields or {}).values() for m in told]
        messages.error(request, " ".join([exc.message, *details]))
    return redirect(reverse("adsportal:deal", args=[seat.org.pk, found.pk]))
