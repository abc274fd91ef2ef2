"""Deals through the services: the whole path with its money, each cancellation and dispute
branch against the ledger's invariants, and bad input (fees, other people's ids, banned
creators, suspended brands, double approval and payout)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.ads.models import AdvertiserOrg, Membership
from apps.content.models import Post
from apps.core.errors import ApplicationError
from apps.marketplace.models import Deal, DealMessage
from apps.marketplace.services import deals
from apps.moderation.models import EnforcementAction
from apps.payments.models import LedgerAccount, TransferSet
from apps.payments.selectors import platform_balance
from tests.factories import UserFactory
from tests.marketplace.helpers import (
    FEE,
    FEE_MICROS,
    books_balance,
    brand,
    draft_post,
    earnings,
    escrow_balance,
    invite,
    opted_in,
    org_available,
)

pytestmark = pytest.mark.django_db

S = Deal.State


def refused(code: str, call: Any, **kw: Any) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        call(**kw)
    assert info.value.code == code, (info.value.code, info.value.message)
    assert info.value.message  # said in words
    return info.value


def revenue() -> int:
    return platform_balance(LedgerAccount.Kind.PLATFORM_REVENUE, "USD").balance


def accepted() -> tuple[Deal, Any, Any, Any]:
    org, admin = brand()
    maker = opted_in()
    deal = invite(org, admin, maker)
    deal = deals.deal_accept(user=maker, deal_id=deal.pk)
    return deal, org, admin, maker


def drafted() -> tuple[Deal, Any, Any, Any, Post]:
    deal, org, admin, maker = accepted()
    post = draft_post(maker)
    deal = deals.deal_submit_draft(user=maker, deal_id=deal.pk, post_id=post.pk)
    return deal, org, admin, maker, post


def test_the_whole_path_escrows_then_pays_the_creator_less_the_platform_fee() -> None:
    org, admin = brand()
    maker = opted_in()
    start, revenue_before = org_available(org), revenue()
    deal = invite(org, admin, maker)
    assert deal.state == S.INVITED
    assert org_available(org) == start

    deal = deals.deal_accept(user=maker, deal_id=deal.pk)
    assert deal.state == S.ACCEPTED
    assert deal.hold_set is not None
    assert deal.hold_set.phase == TransferSet.Phase.PENDING
    assert org_available(org) == start - FEE_MICROS  # held on the brand's balance
    assert escrow_balance(deal) == 0  # pending, not yet in escrow

    post = draft_post(maker)
    deal = deals.deal_submit_draft(user=maker, deal_id=deal.pk, post_id=post.pk)
    assert deal.state == S.DRAFT_SUBMITTED
    assert deal.funded_at is not None
    assert escrow_balance(deal) == FEE_MICROS  # the hold posted into escrow

    deal = deals.deal_approve(user=admin, deal_id=deal.pk)
    assert deal.state == S.APPROVED
    deal = deals.deal_publish(user=maker, deal_id=deal.pk)
    assert deal.state == S.PAID
    assert deal.published_at
    assert deal.paid_at

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert post.visibility == Post.Visibility.PUBLIC
    assert post.branded_partner == org.name
    assert post.branded_source == "marketplace"
    fee = FEE_MICROS * 1000 // 10_000  # the 10 % platform fee
    assert earnings(maker) == FEE_MICROS - fee == deal.creator_paid_micros
    assert revenue() - revenue_before == fee == deal.platform_fee_micros
    assert escrow_balance(deal) == 0
    assert org_available(org) == start - FEE_MICROS
    books_balance()
    # the thread tells the story in words
    bodies = list(DealMessage.objects.filter(deal=deal).values_list("body", flat=True))
    assert any("Paid partnership with @" in b for b in bodies)

    # paid once: publishing, approving or cancelling again is refused, nothing moves
    for call, who in (
        (deals.deal_publish, maker),
        (deals.deal_approve, admin),
        (deals.deal_cancel, admin),
    ):
        refused("wrong_state", call, user=who, deal_id=deal.pk)
    assert earnings(maker) == FEE_MICROS - fee


def test_a_counter_offer_is_accepted_by_the_brand_and_held_at_the_new_fee() -> None:
    org, admin = brand()
    maker = opted_in()
    deal = invite(org, admin, maker)
    start = org_available(org)
    deal = deals.deal_counter(user=maker, deal_id=deal.pk, fee_minor=FEE * 2)
    assert deal.state == S.COUNTERED
    refused("wrong_state", deals.deal_accept, user=maker, deal_id=deal.pk)
    deal = deals.deal_counter_answer(user=admin, deal_id=deal.pk, accept=True)
    assert deal.state == S.ACCEPTED
    assert org_available(org) == start - 2 * FEE_MICROS


def test_cancelled_before_the_draft_the_hold_is_voided_and_nothing_left_the_balance() -> None:
    deal, org, admin, maker = accepted()
    start = org_available(org) + FEE_MICROS
    deal = deals.deal_cancel(user=admin, deal_id=deal.pk, reason="Campaign moved")
    assert deal.state == S.CANCELLED
    assert org_available(org) == start
    assert escrow_balance(deal) == 0
    assert earnings(maker) == 0
    assert (
        TransferSet.objects.filter(
            pending_of=deal.hold_set, phase=TransferSet.Phase.VOID_PENDING
        ).count()
        == 1
    )
    books_balance()


def test_the_brand_cancelling_after_the_draft_splits_the_escrow() -> None:
    deal, org, admin, maker, _ = drafted()
    start = org_available(org) + FEE_MICROS
    deal = deals.deal_cancel(user=admin, deal_id=deal.pk)
    half = FEE_MICROS // 2
    assert deal.state == S.CANCELLED
    assert earnings(maker) == half - half // 10  # half the fee, less the platform's 10 %
    assert org_available(org) == start - half
    assert escrow_balance(deal) == 0
    books_balance()


def test_the_creator_withdrawing_after_the_draft_refunds_the_brand_in_full() -> None:
    deal, org, _admin, maker, _ = drafted()
    start = org_available(org) + FEE_MICROS
    deals.deal_cancel(user=maker, deal_id=deal.pk)
    assert earnings(maker) == 0
    assert org_available(org) == start
    assert escrow_balance(deal) == 0
    books_balance()


@pytest.mark.parametrize("share", [0, 2_500, 10_000])
def test_a_dispute_is_settled_by_staff_with_the_share_they_decide_and_audited(share: int) -> None:
    from apps.core.models import AuditEvent

    deal, org, admin, maker, _ = drafted()
    start = org_available(org) + FEE_MICROS
    deal = deals.deal_dispute(user=maker, deal_id=deal.pk, reason="The brand went silent")
    assert deal.state == S.DISPUTED
    refused("wrong_state", deals.deal_approve, user=admin, deal_id=deal.pk)
    refused("wrong_state", deals.deal_cancel, user=admin, deal_id=deal.pk)
    staff = UserFactory(is_staff=True)
    refused(
        "invalid",
        deals.dispute_resolve,
        staff=staff,
        deal_id=deal.pk,
        creator_bps=10_001,
        reason="x",
    )
    refused(
        "invalid",
        deals.dispute_resolve,
        staff=staff,
        deal_id=deal.pk,
        creator_bps=share,
        reason="  ",
    )
    deal = deals.dispute_resolve(
        staff=staff, deal_id=deal.pk, creator_bps=share, reason="Checked the thread"
    )
    gross = FEE_MICROS * share // 10_000
    assert earnings(maker) == gross - gross // 10
    assert org_available(org) == start - gross
    assert escrow_balance(deal) == 0
    assert deal.state == (S.PAID if share else S.CANCELLED)
    audit = AuditEvent.objects.get(app="marketplace", verb="dispute_resolve")
    assert audit.actor_id == staff.pk
    assert audit.target_id == deal.pk
    refused(
        "wrong_state",
        deals.dispute_resolve,
        staff=staff,
        deal_id=deal.pk,
        creator_bps=0,
        reason="again",
    )
    books_balance()


def test_changes_are_requested_at_most_n_rounds() -> None:
    deal, _org, admin, maker, post = drafted()
    with override_settings(SWIPEME_MARKETPLACE_MAX_CHANGE_ROUNDS=1):
        deals.deal_request_changes(user=admin, deal_id=deal.pk, notes="Brighter light")
        deals.deal_submit_draft(user=maker, deal_id=deal.pk, post_id=post.pk)
        err = refused(
            "too_many_rounds",
            deals.deal_request_changes,
            user=admin,
            deal_id=deal.pk,
            notes="Again",
        )
    assert "approve the draft or open a dispute" in err.message
    assert escrow_balance(deal) == FEE_MICROS  # the second draft did not fund twice


@pytest.mark.parametrize("fee", [0, -100, 999, 100_000_001, 10**30, 12.5, "500", True, None])
def test_fees_are_whole_cents_within_bounds(fee: Any) -> None:
    org, admin = brand(micros=0)
    maker = opted_in()
    refused("invalid_fee", invite, org=org, admin=admin, maker=maker, fee_minor=fee)
    assert not Deal.objects.exists()


def test_a_brand_short_of_balance_cannot_be_accepted_and_is_told() -> None:
    org, admin = brand(micros=FEE_MICROS - 1)
    maker = opted_in()
    deal = invite(org, admin, maker)
    err = refused("insufficient_funds", deals.deal_accept, user=maker, deal_id=deal.pk)
    assert "add funds" in err.message
    assert Deal.objects.get(pk=deal.pk).state == S.INVITED


def test_other_peoples_ids_and_roles_are_refused() -> None:
    deal, org, admin, maker = accepted()
    stranger = opted_in()
    analyst = UserFactory()
    Membership.objects.create(org=org, user=analyst, role=Membership.Role.ANALYST)
    other_org, other_admin = brand()
    # a stranger: the deal does not exist for them
    for call in (deals.deal_accept, deals.deal_approve, deals.deal_cancel):
        refused("deal_not_found", call, user=stranger, deal_id=deal.pk)
    refused("deal_not_found", deals.deal_approve, user=other_admin, deal_id=deal.pk)
    # the creator cannot approve their own draft, the brand cannot accept for the creator
    post = draft_post(maker)
    deals.deal_submit_draft(user=maker, deal_id=deal.pk, post_id=post.pk)
    refused("not_the_brand", deals.deal_approve, user=maker, deal_id=deal.pk)
    refused("role_forbidden", deals.deal_approve, user=analyst, deal_id=deal.pk)
    refused("not_the_creator", deals.deal_publish, user=admin, deal_id=deal.pk)
    # someone else's post as a draft; a brand inviting itself to another's org
    theirs = draft_post(stranger)
    deals.deal_request_changes(user=admin, deal_id=deal.pk, notes="Retake")
    refused(
        "post_not_found", deals.deal_submit_draft, user=maker, deal_id=deal.pk, post_id=theirs.pk
    )
    refused("org_not_found", invite, org=other_org, admin=admin, maker=maker)
    refused("creator_not_found", invite, org=org, admin=admin, maker=UserFactory())
    refused("deal_not_found", deals.deal_accept, user=maker, deal_id=10**15)


def test_a_banned_creator_or_a_suspended_brand_is_refused() -> None:
    org, admin = brand()
    maker = opted_in()
    deal = invite(org, admin, maker)
    EnforcementAction.objects.create(
        subject=maker,
        target_type="user",
        target_id=maker.pk,
        action=EnforcementAction.Action.BAN,
        policy="spam_scam",
        reason="test",
    )
    refused("creator_not_eligible", invite, org=org, admin=admin, maker=maker)
    refused("not_eligible", deals.deal_accept, user=maker, deal_id=deal.pk)
    other = opted_in()
    AdvertiserOrg.objects.filter(pk=org.pk).update(status=AdvertiserOrg.Status.SUSPENDED)
    org.refresh_from_db()
    err = refused("org_not_eligible", invite, org=org, admin=admin, maker=other)
    assert "suspended" in err.message


def test_prohibited_categories_and_bad_deliverables_are_refused_in_words() -> None:
    org, admin = brand(micros=0)
    maker = opted_in()
    refused(
        "prohibited_category",
        invite,
        org=org,
        admin=admin,
        maker=maker,
        brief="Show our new tobacco blend",
    )
    past = (timezone.localdate() - timedelta(days=1)).isoformat()
    bads: tuple[Any, ...] = (
        {"posts": 0},
        {"hashtags": ["no spaces"]},
        {"due_date": past},
        {"may_run_as_ad": "yes"},
        {"restricted_category": "weapons"},
        [],
    )
    for bad in bads:
        refused("invalid", invite, org=org, admin=admin, maker=maker, deliverables=bad)
    assert not Deal.objects.exists()


def test_a_draft_must_be_private_and_carry_the_hashtags() -> None:
    deal, _org, _admin, maker = accepted()
    no_tag = draft_post(maker, caption="Spring menu")
    err = refused(
        "missing_hashtags", deals.deal_submit_draft, user=maker, deal_id=deal.pk, post_id=no_tag.pk
    )
    assert "#ad" in err.message
    from apps.content import services as content
    from tests.content.factories import MediaAssetFactory

    public = content.post_create(
        author=maker, asset_id=MediaAssetFactory(owner=maker).pk, caption="Live #ad"
    )
    refused(
        "already_public", deals.deal_submit_draft, user=maker, deal_id=deal.pk, post_id=public.pk
    )
    refused("invalid", deals.deal_submit_draft, user=maker, deal_id=deal.pk, post_id=str(public.pk))
    assert escrow_balance(deal) == 0


def test_a_restricted_category_deal_is_age_restricted_when_published() -> None:
    org, admin = brand()
    maker = opted_in()
    deal = invite(
        org, admin, maker, deliverables={"hashtags": ["ad"], "restricted_category": "alcohol"}
    )
    deals.deal_accept(user=maker, deal_id=deal.pk)
    post = draft_post(maker)
    deals.deal_submit_draft(user=maker, deal_id=deal.pk, post_id=post.pk)
    deals.deal_approve(user=admin, deal_id=deal.pk)
    deals.deal_publish(user=maker, deal_id=deal.pk)
    post.refresh_from_db()
    assert post.age_restricted
    assert post.branded_category == "alcohol"


def test_messages_only_from_the_two_sides() -> None:
    deal, _org, admin, maker = accepted()
    deals.deal_message(user=maker, deal_id=deal.pk, body="When is it due?")
    deals.deal_message(user=admin, deal_id=deal.pk, body="Friday.")
    refused("deal_not_found", deals.deal_message, user=UserFactory(), deal_id=deal.pk, body="hi")
    refused("invalid", deals.deal_message, user=maker, deal_id=deal.pk, body="")
    sides = list(
        DealMessage.objects.filter(deal=deal, author__isnull=False).values_list("side", flat=True)
    )
    assert sides == ["creator", "brand"]
