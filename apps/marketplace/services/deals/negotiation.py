"""Deals before the draft: the brand's invitation, the creator's answer (accept, decline,
counter), the brand's answer to a counter, and messages on the deal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import User
from apps.ads.models import AdvertiserOrg
from apps.ads.services.funding import balance_account
from apps.ads.services.orgs import Action, require
from apps.ads.services.review import prohibited_category
from apps.core.errors import ApplicationError, ForbiddenError, NotFoundError
from apps.marketplace.conf import conf
from apps.marketplace.models import CreatorProfile, Deal, DealMessage
from apps.marketplace.services.deals.rules import (
    CURRENCY,
    S,
    _as_brand,
    _as_creator,
    _escrow,
    _expect,
    _locked,
    _money,
    _note,
    _org_refusal,
    _side,
    _text,
    clean_deliverables,
    clean_fee,
)
from apps.marketplace.services.optin import creator_refusal
from apps.payments.money import to_micros
from apps.payments.services.ledger import (
    Leg,
    hold,
)


def deal_invite(
    *,
    user: User,
    org: AdvertiserOrg,
    creator_id: int,
    title: Any,
    brief: Any,
    deliverables: Any,
    fee_minor: Any,
) -> Deal:
    """A brand's campaign invitation to an opted-in creator."""
    require(user, org.pk, Action.EDIT_CAMPAIGNS)
    refusal = _org_refusal(org)
    if refusal is not None:
        raise ForbiddenError(refusal, code="org_not_eligible")
    fee = clean_fee(fee_minor)
    clean_title = _text(title, "title", 100)
    clean_brief = _text(brief, "brief", 4000)
    items = clean_deliverables(deliverables)
    banned = prohibited_category(clean_title, clean_brief, " ".join(items["hashtags"]))
    if banned:
        raise ApplicationError(
            f"Brand deals follow the ads policy: {banned} can't be promoted.",
            code="prohibited_category",
            fields={"brief": [f"Prohibited category: {banned}."]},
        )
    creator = User.objects.filter(
        pk=creator_id, marketplace_profile__status=CreatorProfile.Status.ACTIVE
    ).first()
    if creator is None or creator.pk == user.pk:
        raise NotFoundError("No such creator in the marketplace.", code="creator_not_found")
    if creator_refusal(creator) is not None:
        raise ForbiddenError(
            "This creator can't take brand deals right now.", code="creator_not_eligible"
        )
    with transaction.atomic():
        deal = Deal.objects.create(
            org=org,
            creator=creator,
            created_by=user,
            title=clean_title,
            brief=clean_brief,
            deliverables=items,
            fee_minor=fee,
            currency=CURRENCY,
            platform_fee_bps=int(conf("SWIPEME_MARKETPLACE_PLATFORM_FEE_BPS")),
        )
        _note(deal, f"{org.name} invited @{creator.username} for {_money(fee)}.", actor=user)
    return deal


def deal_counter_answer(*, user: User, deal_id: int, accept: bool, fee_minor: Any = None) -> Deal:
    """The brand answers a counter: accept the creator's fee (the hold is taken now), or
    counter back with a fee of its own (the creator answers again)."""
    with transaction.atomic():
        deal = _locked(deal_id)
        _as_brand(user, deal)
        _expect(deal, S.COUNTERED, doing="answer a counter-offer")
        if accept:
            return _accept(deal, by=user)
        deal.fee_minor = clean_fee(fee_minor)
        deal.state = S.INVITED
        deal.save(update_fields=["fee_minor", "state", "updated_at"])
        _note(deal, f"{deal.org.name} offered {_money(deal.fee_minor)}.", actor=user)
    return deal


def _accept(deal: Deal, *, by: User) -> Deal:
    refusal = creator_refusal(deal.creator) or _org_refusal(deal.org)
    if refusal is not None:
        raise ForbiddenError(
            "This deal can't go ahead: " + refusal[0].lower() + refusal[1:], code="not_eligible"
        )
    micros = to_micros(deal.fee_minor, CURRENCY)
    try:
        deal.hold_set = hold(
            key=f"deal-hold:{deal.pk}",
            code="marketplace_escrow",
            legs=[Leg(balance_account(deal.org), _escrow(deal), micros)],
            timeout=timedelta(days=int(conf("SWIPEME_MARKETPLACE_HOLD_DAYS"))),
            memo=f"deal {deal.pk}",
            created_by_id=by.pk,
        )
    except ApplicationError as exc:
        if exc.code != "insufficient_funds":
            raise
        raise ApplicationError(
            f"{deal.org.name}'s balance doesn't cover the {_money(deal.fee_minor)} fee; "
            "the brand must add funds before this deal can be accepted.",
            code="insufficient_funds",
            status_code=409,
        ) from None
    deal.escrow_account = _escrow(deal)
    deal.state, deal.accepted_at = S.ACCEPTED, timezone.now()
    deal.save(update_fields=["hold_set", "escrow_account", "state", "accepted_at", "updated_at"])
    _note(
        deal,
        f"Accepted for {_money(deal.fee_minor)}: the fee is held on the brand's "
        "balance until the first draft, then kept in escrow.",
        actor=by,
    )
    return deal


def deal_accept(*, user: User, deal_id: int) -> Deal:
    with transaction.atomic():
        deal = _locked(deal_id)
        _as_creator(user, deal)
        _expect(deal, S.INVITED, doing="accept")
        return _accept(deal, by=user)


def deal_decline(*, user: User, deal_id: int, reason: Any = "") -> Deal:
    words = _text(reason, "reason", 500, required=False) if reason else ""
    with transaction.atomic():
        deal = _locked(deal_id)
        _as_creator(user, deal)
        _expect(deal, S.INVITED, doing="decline")
        deal.state, deal.ended_reason = S.DECLINED, words
        deal.save(update_fields=["state", "ended_reason", "updated_at"])
        _note(
            deal,
            f"@{deal.creator.username} declined." + (f" “{words}”" if words else ""),
            actor=user,
        )
    return deal


def deal_counter(*, user: User, deal_id: int, fee_minor: Any) -> Deal:
    fee = clean_fee(fee_minor)
    with transaction.atomic():
        deal = _locked(deal_id)
        _as_creator(user, deal)
        _expect(deal, S.INVITED, doing="counter")
        deal.fee_minor, deal.state = fee, S.COUNTERED
        deal.save(update_fields=["fee_minor", "state", "updated_at"])
        _note(deal, f"@{deal.creator.username} asked for {_money(fee)}.", actor=user)
    return deal


def deal_message(*, user: User, deal_id: int, body: Any) -> DealMessage:
    words = _text(body, "message", 2000)
    with transaction.atomic():
        deal = _locked(deal_id)
        return _note(deal, words, side=_side(user, deal), author=user)
