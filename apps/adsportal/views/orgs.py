"""Sign-up as an advertiser organisation, the list of one's organisations, members and
roles, and the prepaid balance (top-ups through apps.ads' funding service and the payment
provider; with the local provider the page offers its test cards)."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.accounts import locales
from apps.accounts.models import User
from apps.ads.models import Membership
from apps.ads.services import funding
from apps.ads.services import orgs as ads_services
from apps.adsportal import reads
from apps.adsportal.access import Seat, portal_view, seat_for
from apps.adsportal.forms import FundForm, InviteForm, OrgForm, RoleForm, apply_errors, micros_of
from apps.core.errors import ApplicationError
from apps.payments.money import SUPPORTED_CURRENCIES, format_money, to_micros, to_minor

ROLE_HELP = {
    Membership.Role.ADMIN: "Everything, members and billing included.",
    Membership.Role.EDITOR: "Campaigns, ad groups, ads and audiences; reports.",
    Membership.Role.ANALYST: "Reads campaigns and reports; changes nothing.",
    Membership.Role.BILLING: "The balance and top-ups; reads campaigns and reports.",
}


ADULTS_ONLY = (
    "Advertiser accounts are for adults: you must be 18 or older, with your date "
    "of birth on your SwipeMe account."
)


def _is_adult(user: User) -> bool:
    """Known to be an adult (a date of birth on the account, at least the adult age)."""
    age = user.age_on(timezone.localdate())
    return age is not None and age >= settings.SWIPEME_ADULT_AGE


def _me(request: HttpRequest) -> User:
    user = request.user
    assert isinstance(user, User)  # portal_view: signed in
    return user


def _org_form(data: Any = None) -> OrgForm:
    zones = sorted(zoneinfo.available_timezones())
    return OrgForm(
        data,
        countries=locales.country_choices(),
        currencies=[(c, c) for c in sorted(SUPPORTED_CURRENCIES)],
        zones=[(z, z.replace("_", " ")) for z in zones],
        initial={"currency": "USD", "timezone": "UTC"},
    )


@portal_view
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    orgs = reads.orgs_of(me)
    return render(
        request,
        "adsportal/home.html",
        {
            "orgs": [
                {"org": o, "role": Membership.Role(o.role).label}  # type: ignore[attr-defined]
                for o in orgs
            ]
        },
    )


@portal_view
@require_http_methods(["GET", "HEAD", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    form = _org_form(request.POST if request.method == "POST" else None)
    adult = _is_adult(me)
    if not adult and request.method == "POST":
        form.is_valid()
        form.add_error(None, ADULTS_ONLY)
    elif request.method == "POST" and form.is_valid():
        try:
            data = form.cleaned_data
            org = ads_services.org_signup(
                user=me,
                name=data["name"],
                country=data["country"],
                currency=data["currency"],
                timezone_name=data["timezone"],
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{org.name} is set up. Add funds, then create a campaign.")
            return redirect("adsportal:org", org.pk)
    status = 400 if form.is_bound and form.errors else 200
    return render(
        request,
        "adsportal/signup.html",
        {"form": form, "adult": adult, "adults_only": ADULTS_ONLY},
        status=status if adult or request.method != "POST" else 403,
    )


@portal_view
@require_safe
def org(request: HttpRequest, org_id: str) -> HttpResponse:
    seat = seat_for(request, org_id)
    campaigns = reads.campaigns_of(seat)
    deliveries = reads.deliveries_of(campaigns)
    for campaign in campaigns:
        campaign.delivery = deliveries[campaign.pk]  # type: ignore[attr-defined]
    balance = reads.balance_micros(seat)
    return render(
        request,
        "adsportal/org.html",
        {
            "seat": seat,
            "tab": "campaigns",
            "campaigns": campaigns,
            "balance": (
                format_money(balance, seat.org.currency) if seat.can("see_billing") else None
            ),
            # every member is told: no ad of the org serves with nothing left to spend
            # (apps.ads.selectors.live_ads asks the same balance)
            "balance_empty": balance <= 0,
        },
    )


def _balance(seat: Seat) -> str:
    return format_money(reads.balance_micros(seat), seat.org.currency)


# --- members ------------------------------------------------------------------------------


def _roles() -> list[tuple[str, str]]:
    return [(str(value), str(label)) for value, label in Membership.Role.choices]


def _members_page(
    request: HttpRequest, seat: Seat, *, invite: InviteForm | None = None, status: int = 200
) -> HttpResponse:
    members = reads.members_of(seat)
    return render(
        request,
        "adsportal/members.html",
        {
            "seat": seat,
            "tab": "members",
            "members": members,
            "invite": invite or InviteForm(roles=_roles(), initial={"role": "editor"}),
            "roles": _roles(),
            "role_help": [(label, ROLE_HELP[Membership.Role(value)]) for value, label in _roles()],
        },
        status=status,
    )


@portal_view
@require_http_methods(["GET", "HEAD", "POST"])
def members(request: HttpRequest, org_id: str) -> HttpResponse:
    if request.method != "POST":
        return _members_page(request, seat_for(request, org_id))
    seat = seat_for(request, org_id, "manage_members")
    form = InviteForm(request.POST, roles=_roles())
    if form.is_valid():
        try:
            ads_services.member_add(
                user=seat.user,
                org=seat.org,
                identifier=form.cleaned_data["identifier"],
                role=form.cleaned_data["role"],
            )
        except ApplicationError as error:
            apply_errors(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['identifier']} was added.")
            return redirect("adsportal:members", seat.org.pk)
    return _members_page(request, seat, invite=form, status=400)


@portal_view
@require_POST
def member_change(request: HttpRequest, org_id: str, member_id: str) -> HttpResponse:
    """Change a member's role (`role`) or remove them (`remove`)."""
    seat = seat_for(request, org_id, "manage_members")
    membership = reads.get_member_of(seat, member_id)  # 404 else
    try:
        if "remove" in request.POST:
            ads_services.member_remove(user=seat.user, org=seat.org, member_id=membership.pk)
            messages.success(request, f"@{membership.user.username} was removed.")
        else:
            form = RoleForm(request.POST, roles=_roles(), prefix=f"m{membership.pk}")
            if not form.is_valid():
                messages.error(request, "Choose one of the roles.")
                return redirect("adsportal:members", seat.org.pk)
            ads_services.member_change_role(
                user=seat.user,
                org=seat.org,
                member_id=membership.pk,
                role=form.cleaned_data["role"],
            )
            messages.success(
                request,
                f"@{membership.user.username} is now "
                f"{Membership.Role(form.cleaned_data['role']).label}.",
            )
    except ApplicationError as error:
        messages.error(request, error.message)
    if "remove" in request.POST and membership.user_id == seat.user.pk:
        return redirect("adsportal:home")
    return redirect("adsportal:members", seat.org.pk)


# --- billing ------------------------------------------------------------------------------


def _test_cards() -> list[tuple[str, str]]:
    if settings.SWIPEME_PAYMENT_PROVIDER != "local":
        return []
    from apps.payments.providers.local import TEST_CARDS

    return [(card, f"{card}: {words}") for card, words in TEST_CARDS.items()]


def _billing_page(
    request: HttpRequest, seat: Seat, *, form: FundForm | None = None, status: int = 200
) -> HttpResponse:
    topups = reads.topups_of(seat)
    return render(
        request,
        "adsportal/billing.html",
        {
            "seat": seat,
            "tab": "billing",
            "balance": _balance(seat),
            "topups": [
                {
                    "row": t,
                    "amount": format_money(to_micros(t.amount_minor, t.currency), t.currency),
                }
                for t in topups
            ],
            "form": form or FundForm(methods=_test_cards()),
        },
        status=status,
    )


@portal_view
@require_http_methods(["GET", "HEAD", "POST"])
def billing(request: HttpRequest, org_id: str) -> HttpResponse:
    if request.method != "POST":
        return _billing_page(request, seat_for(request, org_id, "see_billing"))
    seat = seat_for(request, org_id, "fund")
    form = FundForm(request.POST, methods=_test_cards())
    if not form.is_valid():
        return _billing_page(request, seat, form=form, status=400)
    try:
        topup = funding.topup_start(
            user=seat.user,
            org=seat.org,
            amount_minor=to_minor(micros_of(form.cleaned_data["amount"]), seat.org.currency),
            payment_method=form.cleaned_data.get("payment_method") or "",
            return_url=reverse("adsportal:billing", args=[seat.org.pk]),
        )
    except ApplicationError as error:
        if "amount_minor" in error.fields:
            error.fields["amount"] = [error.message]
            del error.fields["amount_minor"]
        apply_errors(form, error)
        return _billing_page(request, seat, form=form, status=400)
    if topup.next_action_url:
        return redirect(topup.next_action_url)
    messages.success(
        request, "Payment started. The balance grows as soon as the payment provider confirms it."
    )
    return redirect("adsportal:billing", seat.org.pk)
