"""The creator's side of the creator marketplace on the web (brands use the advertiser
portal): `/studio/marketplace` (may I join and why not, the media kit as brands see it, the
topics / rate / open-to-offers form), `/studio/marketplace/deals` (the inbox) and
`/studio/marketplace/deals/<id>` (one deal: accept, decline or counter, submit a draft,
the brand's change requests, publish, cancel, dispute, messages). Thin views over
apps.marketplace's services and selectors, the same calls the API makes; every refusal is
shown on the page in the service's words. Another person's deal is a 404."""

from __future__ import annotations

import itertools
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from apps.accounts.models import User
from apps.content.models import Post
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import parse_id
from apps.feed.topics import TOPICS
from apps.marketplace import selectors
from apps.marketplace.models import CreatorProfile, Deal, DealMessage
from apps.marketplace.services import deals, optin
from apps.web.pages import viewer_of

INBOX_PAGE = 100
DRAFT_CHOICES = 50
OPEN = {"invited", "countered", "accepted", "draft_submitted", "changes_requested", "approved"}
AFTER_DRAFT = {"draft_submitted", "changes_requested", "approved"}


def _me(request: HttpRequest) -> User:
    viewer = viewer_of(request)
    assert viewer is not None  # login_required
    return viewer


def _cents(raw: str) -> int | str | None:
    """A dollars box → whole cents; blank → None; anything else → the raw text, which the
    service then refuses in its words (a rate or fee is a whole number of cents)."""
    text = raw.strip().lstrip("$").replace(",", "")
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        return raw
    if not value.is_finite() or value != value.quantize(Decimal("0.01")):
        return raw
    return int(value * 100)


def _dollars(cents: int | None) -> str:
    return "" if cents is None else f"{cents / 100:.2f}"


def _money(cents: int) -> str:
    return f"${cents / 100:,.2f}"


def _refused(request: HttpRequest, exc: ApplicationError) -> None:
    details = [m for found in (exc.fields or {}).values() for m in found]
    messages.error(request, exc.message if exc.message or not details else details[0])


@login_required
@require_http_methods(["GET", "HEAD", "POST"])
def kit(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    if request.method == "POST":
        action = request.POST.get("action", "")
        topics = request.POST.getlist("topics")
        rate = _cents(request.POST.get("rate", ""))
        try:
            if action == "join":
                optin.opt_in(user=me, topics=topics, rate_post_minor=rate)
                messages.success(
                    request,
                    "You joined the creator marketplace: brands can find you and send you offers.",
                )
            elif action == "save":
                changes: dict[str, Any] = {"topics": topics, "rate_post_minor": rate}
                if request.POST.get("status") in CreatorProfile.Status.values:
                    changes["status"] = request.POST["status"]
                optin.profile_update(user=me, **changes)
                messages.success(request, "Saved.")
            else:
                raise ApplicationError("Unknown action.", code="invalid")
        except ApplicationError as exc:
            _refused(request, exc)
        return redirect("web:marketplace")
    profile = CreatorProfile.objects.filter(user_id=me.pk).first()
    refusal = optin.creator_refusal(me)
    open_deals = selectors.deals_of_creator(me).filter(state__in=OPEN).count() if profile else 0
    audience = (profile.audience if profile else {}) or {}
    return render(
        request,
        "web/marketplace.html",
        {
            "profile": profile,
            "refusal": refusal,
            "topics": [(key, spec["label"]) for key, spec in TOPICS.items()],
            "chosen": set(profile.topics) if profile else set(),
            "rate": _dollars(profile.rate_post_minor) if profile else "",
            "rate_text": _money(profile.rate_post_minor)
            if profile and profile.rate_post_minor
            else "Ask me",
            "audience": audience,
            "open_deals": open_deals,
            "statuses": CreatorProfile.Status.choices,
        },
    )


@login_required
@require_safe
def inbox(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    deals = selectors.deals_of_creator(me)
    before = parse_id(request.GET.get("before", ""))  # older pages: the last id shown
    if before:
        deals = deals.filter(pk__lt=before)
    rows = list(deals[: INBOX_PAGE + 1])
    more = len(rows) > INBOX_PAGE
    rows = rows[:INBOX_PAGE]
    return render(
        request,
        "web/marketplace_deals.html",
        {
            "rows": [
                {"deal": d, "fee": _money(d.fee_minor), "open": d.state in OPEN} for d in rows
            ],
            "joined": CreatorProfile.objects.filter(user_id=me.pk).exists(),
            "older": rows[-1].pk if more else None,
            "paged": bool(before),
        },
    )


def _own_deal(me: User, deal_id: str) -> Deal:
    """The creator's own deal; another person's (a brand member's too: brands have the
    portal), a missing one and a malformed id are the same 404."""
    try:
        found = selectors.deal_for(me, parse_id(deal_id) or 0)
    except NotFoundError:
        raise Http404("No such deal.") from None
    if found.creator_id != me.pk:
        raise Http404("No such deal.")
    return found


def change_requests(deal: Deal, thread: list[DealMessage]) -> list[dict[str, Any]]:
    """The brand's change requests: the service writes the brand's notes, then its own line
    "<brand> asked for changes (round n of m)"; each such pair is one request."""
    prefix = f"{deal.org.name} asked for changes (round "
    found: list[dict[str, Any]] = []
    for before, after in itertools.pairwise(thread):
        if before.side == "brand" and after.side == "system" and after.body.startswith(prefix):
            found.append({"round": len(found) + 1, "notes": before.body, "at": before.created_at})
    return found


def _draft_choices(me: User) -> list[Post]:
    """Posts the creator may submit: their own, not removed, not public yet (the brand
    approves first), newest first; the current draft stays in the list."""
    rows = (
        Post.objects.filter(author_id=me.pk)
        .exclude(status=Post.Status.REMOVED)
        .exclude(status=Post.Status.PUBLISHED, visibility=Post.Visibility.PUBLIC)
        .only("id", "caption", "status", "visibility", "created_at")
        .order_by("-id")[:DRAFT_CHOICES]
    )
    return list(rows)


@login_required
@require_safe
def deal_page(request: HttpRequest, deal_id: str) -> HttpResponse:
    me = _me(request)
    found = _own_deal(me, deal_id)
    thread = list(selectors.messages_of(found))
    share = found.fee_minor - found.fee_minor * found.platform_fee_bps // 10_000
    state = found.state
    return render(
        request,
        "web/marketplace_deal.html",
        {
            "deal": found,
            "fee": _money(found.fee_minor),
            "share": _money(share),
            "platform_percent": f"{found.platform_fee_bps / 100:g}",
            "paid": f"${found.creator_paid_micros / 1_000_000:,.2f}",
            "thread": thread,
            "changes": change_requests(found, thread),
            "drafts": _draft_choices(me) if state in ("accepted", "changes_requested") else [],
            "is_open": state in OPEN,
            "after_draft": state in AFTER_DRAFT,
            "hashtags": " ".join(f"#{h}" for h in found.deliverables.get("hashtags", [])),
        },
    )


STEPS = ("accept", "decline", "counter", "draft", "publish", "cancel", "dispute", "message")
DONE = {
    "accept": "You accepted: the fee is held on the brand's balance. Submit your draft when "
    "it's ready.",
    "decline": "You declined the offer.",
    "counter": "Your counter-offer is with the brand.",
    "draft": "Draft submitted: the brand reviews it.",
    "publish": "Published with its “Paid partnership” label: your share is in your earnings.",
    "cancel": "The deal is cancelled.",
    "dispute": "Dispute opened: our team decides and tells you both here.",
    "message": "",
}


@login_required
@require_POST
def deal_step(request: HttpRequest, deal_id: str, step: str) -> HttpResponse:
    me = _me(request)
    found = _own_deal(me, deal_id)
    if step not in STEPS:
        raise Http404("No such step.")
    data, pk = request.POST, found.pk
    try:
        if step == "accept":
            deals.deal_accept(user=me, deal_id=pk)
        elif step == "decline":
            deals.deal_decline(user=me, deal_id=pk, reason=data.get("reason", ""))
        elif step == "counter":
            deals.deal_counter(user=me, deal_id=pk, fee_minor=_cents(data.get("fee", "")))
        elif step == "draft":
            post_id = parse_id(data.get("post_id", ""))
            deals.deal_submit_draft(user=me, deal_id=pk, post_id=post_id)
        elif step == "publish":
            deals.deal_publish(user=me, deal_id=pk)
        elif step == "cancel":
            deals.deal_cancel(user=me, deal_id=pk, reason=data.get("reason", ""))
        elif step == "dispute":
            deals.deal_dispute(user=me, deal_id=pk, reason=data.get("reason", ""))
        else:
            deals.deal_message(user=me, deal_id=pk, body=data.get("body", ""))
    except ApplicationError as exc:
        _refused(request, exc)
    else:
        if DONE[step]:
            messages.success(request, DONE[step])
    return redirect("web:marketplace-deal", deal_id=str(pk))
