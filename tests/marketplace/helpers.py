"""Arrangements for the marketplace tests: a funded USD brand, an eligible creator, a draft,
an ad group for spark ads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from apps.accounts.models import User
from apps.ads.models import AdGroup, AdvertiserOrg, Campaign
from apps.content import services as content
from apps.content.models import Post
from apps.marketplace.models import Deal
from apps.marketplace.services import deals
from apps.marketplace.services.optin import opt_in
from apps.payments.models import LedgerAccount
from apps.payments.selectors import account_balance, balance_of, earnings_balance
from apps.payments.services.reconcile import reconcile_ledger
from tests.ads.core_helpers import fund, org_with
from tests.content.factories import MediaAssetFactory
from tests.factories import UserFactory

FEE = 50_000  # $500.00 in cents
FEE_MICROS = FEE * 10_000


def creator(**kw: Any) -> User:
    user = UserFactory(**kw)
    User.objects.filter(pk=user.pk).update(followers_count=5_000)
    user.refresh_from_db()
    return user


def opted_in(**kw: Any) -> User:
    user = creator(**kw)
    opt_in(user=user, topics=["food"], rate_post_minor=40_000)
    return user


def brand(micros: int = 2_000_000_000, **kw: Any) -> tuple[AdvertiserOrg, User]:
    org, admin = org_with(**kw)
    if micros:
        fund(org, micros)
    org.refresh_from_db()
    return org, admin


def invite(org: AdvertiserOrg, admin: User, maker: User, **kw: Any) -> Deal:
    args: dict[str, Any] = {
        "title": "Spring menu",
        "brief": "Cook our spring menu.",
        "deliverables": {"posts": 1, "hashtags": ["ad"]},
        "fee_minor": FEE,
    }
    args.update(kw)
    return deals.deal_invite(user=admin, org=org, creator_id=maker.pk, **args)


def draft_post(author: User, caption: str = "Spring menu #ad") -> Post:
    return content.post_create(
        author=author, asset_id=MediaAssetFactory(owner=author).pk, caption=caption, publish="draft"
    )


def org_available(org: AdvertiserOrg) -> int:
    assert org.balance_account is not None
    org.balance_account.refresh_from_db()
    return account_balance(org.balance_account).available


def escrow_balance(deal: Deal) -> int:
    return balance_of(LedgerAccount.Kind.MARKETPLACE_ESCROW, owner_id=deal.pk, asset="USD").balance


def earnings(user: User) -> int:
    return earnings_balance(user.pk).balance


def books_balance() -> None:
    """The ledger's invariants now, not at a commit the test never makes: the deferred
    per-set checks (zero-sum, a post repeating its hold...) fire, and the reconciliation
    finds every account's sums equal to its transfers'."""
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET CONSTRAINTS ALL DEFERRED")
    assert reconcile_ledger().differences == 0


def group_of(org: AdvertiserOrg) -> AdGroup:
    campaign = Campaign.objects.create(
        org=org,
        name="Spring",
        objective=Campaign.Objective.TRAFFIC,
        budget_kind=Campaign.BudgetKind.DAILY,
        budget_micros=50_000_000,
        start_at=timezone.now() - timedelta(days=1),
        status=Campaign.Status.ACTIVE,
    )
    return AdGroup.objects.create(
        campaign=campaign, name="Everyone", bid_strategy="cpm", bid_micros=2_000_000
    )
