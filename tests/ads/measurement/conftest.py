"""A funded advertiser with one approved ad per bid strategy, and tokens served to viewers
as delivery serves them (apps.ads.delivery.tokens)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone

from apps.ads.delivery import redis_client
from apps.ads.delivery.tokens import ServedAd, make_token, new_auction_id, viewer_key_for
from apps.ads.models import Ad, AdGroup, AdvertiserOrg, Campaign
from apps.ads.services.funding import balance_account
from apps.ads.services.orgs import org_signup
from apps.core import redis_health
from apps.payments.models import LedgerAccount
from apps.payments.services.ledger import Leg, platform_account, post_transfers
from tests.content.factories import MediaAssetFactory
from tests.factories import UserFactory

BROWSER_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)
STRATEGY_EVENT = {"cpm": "impression", "cpc": "click", "cpv2s": "view_2s"}


def _drop_ads_keys() -> None:
    client = redis_client.client()
    keys = list(client.scan_iter("ads:*", count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture(autouse=True)
def _clean_ads_redis() -> Iterator[None]:
    redis_client.forget()
    _drop_ads_keys()
    yield
    redis_health.reset_all()
    _drop_ads_keys()
    redis_client.forget()


@dataclass
class World:
    admin: Any
    org: AdvertiserOrg
    campaign: Campaign
    groups: dict[str, AdGroup]
    ads: dict[str, Ad]

    def fund(self, micros: int, key: str = "fund-1") -> None:
        clearing = platform_account(
            LedgerAccount.Kind.PROVIDER_CLEARING, self.org.currency, self.org.pk
        )
        post_transfers(
            key=f"{key}:{self.org.pk}",
            code="ad_topup",
            legs=[Leg(clearing, balance_account(self.org), micros, "ad_topup")],
        )


def make_world(name: str = "Acme") -> World:
    admin = UserFactory()
    org = org_signup(user=admin, name=name, country="US", currency="USD")
    campaign = Campaign.objects.create(
        org=org,
        name=f"{name} launch",
        objective=Campaign.Objective.TRAFFIC,
        budget_kind=Campaign.BudgetKind.DAILY,
        budget_micros=50_000_000,
        start_at=timezone.now() - timedelta(days=1),
        status=Campaign.Status.ACTIVE,
    )
    groups, ads = {}, {}
    for strategy in STRATEGY_EVENT:
        group = AdGroup.objects.create(
            campaign=campaign, name=f"{strategy} group", bid_strategy=strategy, bid_micros=2_000_000
        )
        groups[strategy] = group
        ads[strategy] = Ad.objects.create(
            ad_group=group,
            name=f"{strategy} ad",
            asset=MediaAssetFactory(owner=admin),
            display_name=name,
            landing_url="https://shop.example.com/spring?utm=swipe",
            review_state=Ad.Review.APPROVED,
        )
    return World(admin=admin, org=org, campaign=campaign, groups=groups, ads=ads)


@pytest.fixture
def world(db: None) -> World:
    w = make_world()
    w.fund(100_000_000)  # 100 USD
    return w


def serve(
    ad: Ad,
    *,
    viewer: Any = None,
    device: str | None = None,
    price: int = 1_500,
    served_at: datetime | None = None,
    billing_event: str | None = None,
) -> str:
    """The token delivery hands the client for this ad (its group's billing event)."""
    group = ad.ad_group
    return make_token(
        ServedAd(
            auction_id=new_auction_id(),
            ad_id=ad.pk,
            ad_group_id=group.pk,
            campaign_id=group.campaign_id,
            price_micros=price,
            billing_event=billing_event or STRATEGY_EVENT[group.bid_strategy],
            viewer_key=viewer_key_for(
                user_id=viewer.pk if viewer else None, device_id=device if viewer is None else None
            ),
            served_at=served_at or timezone.now() - timedelta(seconds=10),
        )
    )
