"""Subscription pages: the creator's tiers in the studio (`/studio/subscriptions`), a
creator's tiers and the subscribe form (`/@<username>/subscribe`), and "your
subscriptions" (`/subscriptions`, with cancel and resume). Plain forms posting to these
views; every rule is monetization's (services/subscriptions/, eligibility.py), every
refusal is shown in its words."""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import User
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import parse_id
from apps.monetization import eligibility
from apps.monetization import subscription_selectors as selectors
from apps.monetization.models.subscriptions import TIER_MAX_MINOR, TIER_MIN_MINOR, Subscription
from apps.monetization.services import subscriptions as services
from apps.web.pages import avatar_url, viewer_of

_DOLLARS = re.compile(r"\$?\s*(\d{1,6})(?:\.(\d{1,2}))?")


def _me(request: HttpRequest) -> User:
    viewer = viewer_of(request)
    assert viewer is not None  # login_required
    return viewer


def _cents(raw: str) -> int | None:
    """"4.99", "$12", "12.5" → cents; anything else (negative, words, 3 decimals) → None."""
    match = _DOLLARS.fullmatch(raw.strip())
    if match is None:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def _refused(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for messages_ in (exc.fields or {}).values() for m in messages_]
    text = exc.message if not details or exc.message not in ("Unknown fields.",) else details[0]
    messages.error(request, text)


def _tier_rows(creator: User) -> list[dict[str, Any]]:
    return [{"tier": t, "price": services.price_words(t.price_minor, t.currency),
             "dollars": f"{t.price_minor // 100}.{t.price_minor % 100:02d}"}
            for t in selectors.own_tiers(creator)]


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def studio_tiers(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    if request.method == "POST":
        cents = _cents(request.POST.get("price", ""))
        tier_id = parse_id(request.POST.get("tier_id", "")) if request.POST.get("tier_id") \
            else None
        try:
            if cents is None:
                raise ApplicationError(
                    f"Give the monthly price in dollars, like 4.99 (from "
                    f"{services.price_words(TIER_MIN_MINOR, 'USD')} to "
                    f"{services.price_words(TIER_MAX_MINOR, 'USD')}).", code="invalid_amount")
            values = {"name": request.POST.get("name", ""), "price_minor": cents,
                      "perks": request.POST.get("perks", "")}
            if tier_id is None:
                services.tier_create(creator=me, **values)
                messages.success(request, "Your tier is on offer.")
            else:
                if "archive" in request.POST:
                    values = {"active": False}
                elif "restore" in request.POST:
                    values = {"active": True}
                services.tier_update(creator=me, tier_id=tier_id, **values)
                messages.success(request, "Saved.")
        except ApplicationError as exc:
            _refused(request, exc)
        return redirect("web:studio-subscriptions")
    refusal = eligibility.may_offer_subscriptions(me)
    return render(request, "web/subscriptions_studio.html", {
        "tiers": _tier_rows(me),
        "refusal": refusal.message if refusal else "",
        "subscriber_count": selectors.subscriber_count(me.pk),
        "min_price": services.price_words(TIER_MIN_MINOR, "USD"),
        "max_price": services.price_words(TIER_MAX_MINOR, "USD"),
    })


def _test_cards() -> list[tuple[str, str]]:
    if settings.SWIPEME_PAYMENT_PROVIDER != "local":
        return []
    from apps.payments.providers.local import TEST_CARDS

    return [(token, words) for token, words in TEST_CARDS.items()
            if token != "pm_card_dispute"]


@require_http_methods(["GET", "HEAD", "POST"])
def subscribe(request: HttpRequest, username: str) -> HttpResponse:
    viewer = viewer_of(request)
    try:
        found = selectors.tiers_for(viewer, username=username)
    except NotFoundError:
        raise Http404 from None
    if request.method == "POST":
        if viewer is None:
            return redirect(f"{reverse('account_login')}?next={request.path}")
        tier_id = parse_id(request.POST.get("tier_id", ""))
        try:
            if tier_id is None:
                raise ApplicationError("Choose a tier.", code="invalid")
            subscription, payment = services.subscribe(
                subscriber=viewer, tier_id=tier_id,
                payment_method=request.POST.get("payment_method", ""),
                key=f"subscribe:{viewer.pk}:web:{request.POST.get('attempt', '')[:40]}"
                if request.POST.get("attempt") else
                f"subscribe:{viewer.pk}:{services.new_key()}",
                return_url=reverse("web:subscriptions"))
        except ApplicationError as exc:
            _refused(request, exc)
            return redirect("web:subscribe", username=found.creator.username)
        if payment.next_action_url:
            return redirect(payment.next_action_url)
        messages.success(request, f"Thanks! Your subscription to @{found.creator.username} "
                         "starts as soon as the payment is confirmed.")
        return redirect(f"{reverse('web:subscriptions')}#sub-{subscription.pk}")
    refusal = (eligibility.may_subscribe(viewer, found.creator) if viewer is not None
               else None)
    return render(request, "web/subscribe.html", {
        "creator": found.creator,
        "avatar": avatar_url(found.creator, "320"),
        "tiers": [{"tier": t, "price": services.price_words(t.price_minor, t.currency)}
                  for t in found.tiers],
        "subscription": found.subscription,
        "status_text": selectors.status_words(found.subscription)
        if found.subscription else "",
        "refusal": refusal.message if refusal else "",
        "cards": _test_cards(),
        "attempt": services.new_key(),
    })


@login_required
@require_http_methods(["GET", "HEAD"])
def subscriptions(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    rows = [{"subscription": s, "status_text": selectors.status_words(s),
             "avatar": avatar_url(s.creator, "48"),
             "price": services.price_words(s.price_minor, s.currency),
             "can_cancel": s.status == Subscription.Status.PAST_DUE
             or (s.status == Subscription.Status.ACTIVE and not s.cancel_at_period_end),
             "can_resume": s.status == Subscription.Status.ACTIVE and s.cancel_at_period_end,
             "live": s.status in Subscription.LIVE}
            for s in selectors.subscriptions_of(me)[:100]]
    return render(request, "web/subscriptions.html", {"rows": rows})


@login_required
@require_POST
def subscription_action(request: HttpRequest, subscription_id: str, action: str) -> HttpResponse:
    pk = parse_id(subscription_id)
    if pk is None or action not in ("cancel", "resume"):
        raise Http404
    try:
        if action == "cancel":
            done = services.cancel(subscriber=_me(request), subscription_id=pk)
        else:
            done = services.resume(subscriber=_me(request), subscription_id=pk)
        messages.success(request, selectors.status_words(done))
    except NotFoundError:
        raise Http404 from None
    except ApplicationError as exc:
        _refused(request, exc)
    return redirect(f"{reverse('web:subscriptions')}#sub-{pk}")
