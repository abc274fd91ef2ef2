"""Campaigns, ad groups and ads refuse bad input in words: no negative, fractional or
absurd budgets and bids (bounds are settings), schedules that end before they start,
lifetime budgets without an end, unsafe landing URLs; an approved ad that changes goes
back to review."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.test import override_settings
from django.utils import timezone

from apps.ads.models import Ad
from apps.ads.services import ads, campaigns
from apps.ads.services.landing import registrable_domain, validate_landing_url
from apps.core.errors import ApplicationError
from tests.ads.core_helpers import ad_for, campaign_for, group_for, org_with

pytestmark = pytest.mark.django_db


def _refused(fn: Any, *args: Any, **kw: Any) -> dict[str, list[str]]:
    with pytest.raises(ApplicationError) as refused:
        fn(*args, **kw)
    return refused.value.fields or {}


@pytest.mark.parametrize("budget", [-5_000_000, 0, 1, 2.5, True, "5000000",
                                    10_000_000_000_001, 10**30])
def test_budgets_must_be_whole_micros_within_bounds(budget: Any) -> None:
    org, admin = org_with()
    fields = _refused(campaign_for, org, admin, budget_micros=budget)
    assert "budget_micros" in fields


@override_settings(SWIPEME_ADS_MIN_DAILY_BUDGET_MICROS=20_000_000)
def test_the_bounds_are_settings() -> None:
    org, admin = org_with()
    fields = _refused(campaign_for, org, admin, budget_micros=10_000_000)
    assert fields["budget_micros"] == ["The budget must be at least 20,000,000 micros."]
    assert campaign_for(org, admin, budget_micros=20_000_000).budget_micros == 20_000_000


def test_schedules() -> None:
    org, admin = org_with()
    now = timezone.now()
    assert "end_at" in _refused(campaign_for, org, admin, budget_kind="lifetime")
    assert "end_at" in _refused(campaign_for, org, admin, start_at=now,
                                end_at=now - timedelta(hours=1))
    assert "end_at" in _refused(campaign_for, org, admin, start_at=now,
                                end_at=now + timedelta(days=400))
    assert "objective" in _refused(campaign_for, org, admin, objective="fame")
    lifetime = campaign_for(org, admin, budget_kind="lifetime", budget_micros=100_000_000,
                            end_at=now + timedelta(days=30))
    assert lifetime.status == "draft"
    campaigns.campaign_set_status(user=admin, campaign=lifetime, status="active")
    campaigns.campaign_set_status(user=admin, campaign=lifetime, status="ended")
    with pytest.raises(ApplicationError, match="has ended"):
        campaigns.campaign_set_status(user=admin, campaign=lifetime, status="active")


@pytest.mark.parametrize(("kw", "field"), [
    ({"bid_micros": -1}, "bid_micros"),
    ({"bid_micros": 0}, "bid_micros"),
    ({"bid_micros": 1.5}, "bid_micros"),
    ({"bid_micros": 5_000_000_000}, "bid_micros"),
    ({"bid_micros": None}, "bid_micros"),
    ({"bid_strategy": "target_cost", "bid_micros": None}, "target_cost_micros"),
    ({"bid_strategy": "cpa"}, "bid_strategy"),
    ({"frequency_cap_day": 0}, "frequency_cap_day"),
    ({"frequency_cap_day": 5, "frequency_cap_week": 3}, "frequency_cap_week"),
    ({"frequency_cap_week": 1000}, "frequency_cap_week"),
    ({"hours_of_week": [0, 168]}, "hours_of_week"),
    ({"placements": ["search"]}, "placements"),
    ({"age_bands": ["12-13"]}, "age_bands"),
])
def test_ad_group_bids_caps_hours_and_targeting(kw: dict[str, Any], field: str) -> None:
    org, admin = org_with()
    campaign = campaign_for(org, admin)
    assert field in _refused(group_for, campaign, admin, **kw)


def test_a_valid_group_is_normalised() -> None:
    org, admin = org_with()
    group = group_for(campaign_for(org, admin), admin, bid_strategy="target_cost",
                      bid_micros=9, target_cost_micros=2_000_000, countries=["us"],
                      hours_of_week=[5, 3, 3], interests=["gaming"], age_bands=["18-24"])
    assert (group.bid_micros, group.target_cost_micros, group.countries, group.hours_of_week,
            group.placements) == (None, 2_000_000, ["US"], [3, 5], ["for_you"])


@pytest.mark.parametrize(("url", "words"), [
    ("http://acme.example.com/", "https://"),
    ("https://user:pw@acme.example.com/", "user name or password"),
    ("https://10.0.0.5/admin", "public domain name"),
    ("https://localhost/", "public domain name"),
    ("https://acme.example.com:8443/", "standard https port"),
    ("javascript:alert(1)", "https://"),
    ("https://" + "a" * 2000 + ".com/", "too long"),
    ("", "Enter the landing page"),
])
def test_landing_urls_are_checked(url: str, words: str) -> None:
    with pytest.raises(ApplicationError, match=words):
        validate_landing_url(url)


def test_registrable_domains() -> None:
    assert registrable_domain("shop.acme.example.com") == "example.com"
    assert registrable_domain("www.acme.co.uk") == "acme.co.uk"
    assert registrable_domain("a.github.io") == "a.github.io"


def test_ads_need_a_members_video_and_a_safe_landing_url() -> None:
    org, admin = org_with()
    group = group_for(campaign_for(org, admin), admin)
    fields = _refused(ad_for, group, admin, landing_url="http://acme.example.com/",
                      display_name="", cta="call_now")
    assert set(fields) >= {"landing_url", "display_name", "cta"}
    fields = _refused(ad_for, group, admin, restricted_category="alcohol")
    assert "restricted_category" in fields  # the group may reach minors


def test_a_change_to_an_approved_ad_sends_it_back_to_review() -> None:
    org, admin = org_with()
    ad = ad_for(group_for(campaign_for(org, admin), admin), admin)
    Ad.objects.filter(pk=ad.pk).update(review_state=Ad.Review.APPROVED)
    ad.refresh_from_db()
    ads.ad_update(user=admin, ad=ad, name="Renamed")  # not reviewed content
    assert Ad.objects.get(pk=ad.pk).review_state == Ad.Review.APPROVED
    ads.ad_update(user=admin, ad=ad, landing_url="https://acme.example.com/other")
    ad.refresh_from_db()
    assert ad.review_state == Ad.Review.DRAFT
    assert ad.review_reasons == ["You changed the ad: submit it for review again."]
