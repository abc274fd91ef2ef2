"""Spark ads: a brand runs a deal's published post as an ad through ads' own services,
review and delivery, only when the deal allows it; the ad's impressions and clicks appear
in the brand's deal report (and the portal's deal page); another org cannot use the post's
video, and nobody can before it is published."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.ads.measurement import rollup
from apps.ads.measurement.events import Caller, ad_event_record
from apps.ads.models import Ad, AdGroup
from apps.ads.services.ads import ad_create
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.marketplace import selectors
from apps.marketplace.models import Deal
from apps.marketplace.services import deals, spark
from tests.ads.measurement.conftest import BROWSER_UA, _clean_ads_redis, serve  # noqa: F401
from tests.factories import UserFactory
from tests.marketplace.helpers import brand, draft_post, group_of, invite, opted_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_landing_fetch(settings: Any) -> None:
    settings.SWIPEME_ADS_LANDING_CHECK = False  # no network in tests


LANDING = "https://shop.example.com/spring"


def published_deal(*, may_run_as_ad: bool) -> tuple[Deal, Any]:
    org, admin = brand(name="Acme Foods")
    maker = opted_in()
    deal = invite(
        org,
        admin,
        maker,
        deliverables={"posts": 1, "hashtags": ["ad"], "may_run_as_ad": may_run_as_ad},
    )
    deals.deal_accept(user=maker, deal_id=deal.pk)
    deals.deal_submit_draft(user=maker, deal_id=deal.pk, post_id=draft_post(maker).pk)
    deals.deal_approve(user=admin, deal_id=deal.pk)
    deal = deals.deal_publish(user=maker, deal_id=deal.pk)
    deal.refresh_from_db()
    return deal, admin


def test_the_brand_runs_the_post_as_an_ad_and_sees_its_clicks_in_the_report() -> None:
    deal, admin = published_deal(may_run_as_ad=True)
    group = group_of(deal.org)
    assert selectors.spark_ad_groups(admin, deal) == [group]
    ad = spark.spark_ad_create(
        user=admin, deal_id=deal.pk, ad_group_id=group.pk, landing_url=LANDING
    )
    assert deal.draft_post is not None
    assert ad.asset_id == deal.draft_post.asset_id
    assert ad.display_name == f"@{deal.creator.username}"
    assert ad.review_state == Ad.Review.PENDING  # ads' review, as any ad
    assert "runs the post as an ad" in deal.messages.order_by("-id")[0].body
    assert selectors.deal_report(admin, deal.pk)["spark"]["impressions"] == 0

    Ad.objects.filter(pk=ad.pk).update(review_state=Ad.Review.APPROVED)  # ad-ops approve
    ad.refresh_from_db()
    for clicks in (True, False, True):
        viewer = UserFactory()
        me = Caller(user_id=viewer.pk, user_agent=BROWSER_UA)
        start = timezone.now() - timedelta(seconds=30)
        token = serve(ad, viewer=viewer, served_at=start)
        ad_event_record(token=token, kind="impression", caller=me, now=start + timedelta(seconds=1))
        if clicks:
            ad_event_record(token=token, kind="click", caller=me, now=start + timedelta(seconds=4))
    rollup.rollup_days([timezone.now().date()])
    report = selectors.deal_report(admin, deal.pk)["spark"]
    assert (report["impressions"], report["clicks"]) == (3, 2)
    assert report["ctr"] == round(2 / 3, 4)
    assert report["ads"] == [{"id": str(ad.pk), "name": ad.name, "review": "Approved"}]
    assert selectors.deal_report(deal.creator, deal.pk)["spark"] is None  # the brand's figures

    page = Client()
    page.force_login(admin)
    shown = page.get(f"/ads/o/{deal.org_id}/deals/{deal.pk}").content.decode()
    assert 'data-spark="clicks">2<' in shown
    assert "data-spark-form" in shown
    made = page.post(
        f"/ads/o/{deal.org_id}/deals/{deal.pk}/spark",
        {"ad_group": str(group.pk), "landing_url": "ftp://nope", "cta": "shop_now"},
        follow=True,
    ).content.decode()
    assert "https://" in made  # the landing URL's refusal, in ads' words
    assert Ad.objects.filter(asset_id=ad.asset_id).count() == 1
    page.post(
        f"/ads/o/{deal.org_id}/deals/{deal.pk}/spark",
        {"ad_group": str(group.pk), "landing_url": LANDING, "cta": "shop_now"},
    )
    second = Ad.objects.filter(asset_id=ad.asset_id).exclude(pk=ad.pk).get()
    assert (second.cta, second.review_state) == ("shop_now", Ad.Review.PENDING)


def test_no_spark_ad_without_the_deals_permission_or_before_publication() -> None:
    deal, admin = published_deal(may_run_as_ad=False)
    group = group_of(deal.org)
    assert selectors.spark_ad_groups(admin, deal) == []
    with pytest.raises(ForbiddenError, match="organic post only"):
        spark.spark_ad_create(
            user=admin, deal_id=deal.pk, ad_group_id=group.pk, landing_url=LANDING
        )
    assert deal.draft_post is not None
    with pytest.raises(ApplicationError) as refused:  # the creator's video, not granted
        ad_create(
            user=admin,
            group=group,
            name="Sneaky",
            asset_id=deal.draft_post.asset_id,
            display_name="Acme",
            landing_url=LANDING,
        )
    assert refused.value.fields == {"asset_id": ["Upload the video for this ad first."]}

    org, other_admin = brand()
    maker = opted_in()
    early = invite(org, other_admin, maker, deliverables={"posts": 1, "may_run_as_ad": True})
    with pytest.raises(ConflictError, match="once the creator has published"):
        spark.spark_ad_create(
            user=other_admin, deal_id=early.pk, ad_group_id=group_of(org).pk, landing_url=LANDING
        )
    allowed, allowed_admin = published_deal(may_run_as_ad=True)
    assert allowed.draft_post is not None
    with pytest.raises(NotFoundError):  # another org's ad group
        spark.spark_ad_create(
            user=allowed_admin, deal_id=allowed.pk, ad_group_id=group.pk, landing_url=LANDING
        )
    with pytest.raises(NotFoundError):  # another org's deal
        spark.spark_ad_create(
            user=other_admin, deal_id=allowed.pk, ad_group_id=group_of(org).pk, landing_url=LANDING
        )
    with pytest.raises(ApplicationError):  # another org, the granted video: still not theirs
        ad_create(
            user=other_admin,
            group=group_of(org),
            name="Copy",
            asset_id=allowed.draft_post.asset_id,
            display_name="Other",
            landing_url=LANDING,
        )
    with pytest.raises(ForbiddenError):  # the creator is not the brand
        spark.spark_ad_create(
            user=allowed.creator, deal_id=allowed.pk, ad_group_id=group.pk, landing_url=LANDING
        )


def test_a_spark_ad_stops_serving_once_its_post_is_removed() -> None:
    """The grant is asked again whenever ads reads what may serve: the creator's post taken
    down after the deal takes its spark ad out of the inventory (the brand's own creatives
    stay)."""
    from apps.ads.selectors import live_ads
    from apps.content.services.removal import post_remove

    deal, admin = published_deal(may_run_as_ad=True)
    group = group_of(deal.org)
    ad = spark.spark_ad_create(
        user=admin, deal_id=deal.pk, ad_group_id=group.pk, landing_url=LANDING
    )
    Ad.objects.filter(pk=ad.pk).update(review_state=Ad.Review.APPROVED)
    AdGroup.objects.filter(pk=group.pk).update(placements=[AdGroup.Placement.FOR_YOU])
    assert ad.pk in {a.ad_id for a in live_ads()}
    assert deal.draft_post is not None
    post_remove(post_id=deal.draft_post.pk)
    assert ad.pk not in {a.ad_id for a in live_ads()}
    assert not spark.asset_granted(org_id=deal.org_id, asset_id=ad.asset_id)
    assert spark.asset_revoked(org_id=deal.org_id, asset_id=ad.asset_id)
