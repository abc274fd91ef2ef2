"""Arrangements shared by the ads core tests (orgs, campaigns, ad groups, ads)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from apps.accounts.models import User
from apps.ads.models import Ad, AdGroup, AdvertiserOrg, Campaign, Membership
from apps.ads.services import ad_groups, ads, campaigns, orgs
from apps.payments.models import LedgerAccount
from apps.payments.services.ledger import Leg, platform_account, post_transfers
from tests.content.factories import MediaAssetFactory
from tests.factories import UserFactory


def org_with(role_users: dict[str, User] | None = None, **kw: Any) -> tuple[AdvertiserOrg, User]:
    admin = UserFactory()
    org = orgs.org_signup(user=admin, name=kw.pop("name", "Acme Ads"),
                          country=kw.pop("country", "US"), currency=kw.pop("currency", "USD"),
                          **kw)
    for role, user in (role_users or {}).items():
        Membership.objects.create(org=org, user=user, role=role)
    return org, admin


def fund(org: AdvertiserOrg, micros: int = 100_000_000, key: str = "") -> None:
    """Credit the balance straight in the ledger (the top-up flow is tested on its own)."""
    clearing = platform_account(LedgerAccount.Kind.PROVIDER_CLEARING, org.currency, org.pk)
    org.refresh_from_db()
    assert org.balance_account is not None
    post_transfers(key=key or f"test-fund:{org.pk}:{micros}", code="ad_topup",
                   legs=[Leg(clearing, org.balance_account, micros, "ad_topup")])


def campaign_for(org: AdvertiserOrg, user: User, **kw: Any) -> Campaign:
    args: dict[str, Any] = {"name": "Spring", "objective": "traffic", "budget_kind": "daily",
                            "budget_micros": 50_000_000,
                            "start_at": timezone.now() - timedelta(hours=1)}
    args.update(kw)
    return campaigns.campaign_create(user=user, org=org, **args)


def group_for(campaign: Campaign, user: User, **kw: Any) -> AdGroup:
    args: dict[str, Any] = {"name": "Group", "bid_strategy": "cpm", "bid_micros": 5_000_000}
    args.update(kw)
    return ad_groups.ad_group_create(user=user, campaign=campaign, **args)


def ad_for(group: AdGroup, user: User, **kw: Any) -> Ad:
    asset = kw.pop("asset", None) or MediaAssetFactory(owner=user)
    args: dict[str, Any] = {"name": "Ad one", "asset_id": asset.pk, "display_name": "Acme",
                            "landing_url": "https://acme.example.com/spring"}
    args.update(kw)
    return ads.ad_create(user=user, group=group, **args)


def live_ad(user: User | None = None, *, org: AdvertiserOrg | None = None,
            group_kw: dict[str, Any] | None = None, campaign_kw: dict[str, Any] | None = None,
            **ad_kw: Any) -> Ad:
    """A funded org's active campaign with one approved ad."""
    if org is None:
        org, user = org_with()
    assert user is not None
    fund(org)
    campaign = campaign_for(org, user, **(campaign_kw or {}))
    campaigns.campaign_set_status(user=user, campaign=campaign, status="active")
    group = group_for(campaign, user, **(group_kw or {}))
    ad = ad_for(group, user, **ad_kw)
    Ad.objects.filter(pk=ad.pk).update(review_state=Ad.Review.APPROVED)
    ad.refresh_from_db()
    return ad
