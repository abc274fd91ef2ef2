"""A campaign's delivery in words (apps.ads.delivery_status): why it does not serve, whether
it under-delivers against its budget's pace, and the portal's campaign page saying it."""

from __future__ import annotations

from datetime import UTC, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.ads.delivery import budget
from apps.ads.delivery_status import delivery_status
from apps.ads.models import Ad, AdGroup, Campaign
from apps.ads.services import campaigns
from tests.ads.core_helpers import ad_for, campaign_for, group_for, live_ad, org_with
from tests.conftest import open_redis_breaker

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("_flat_traffic")]

NOON = timezone.now().astimezone(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
BUDGET = 50_000_000  # core_helpers' daily budget: $50


@pytest.fixture
def _flat_traffic() -> object:
    # every hour the same share: by noon half the day's traffic has passed
    with override_settings(SWIPEME_ADS_TRAFFIC_CURVE=(1,) * 24):
        yield


def _serving_campaign() -> Campaign:
    ad = live_ad(campaign_kw={"start_at": NOON - timedelta(hours=1)})
    return ad.ad_group.campaign


def test_pace_against_what_pacing_allows_by_now() -> None:
    campaign = _serving_campaign()
    status = delivery_status(campaign, now=NOON)
    assert status is not None
    assert status.state == "under_delivering"
    assert (status.spent_micros, status.expected_micros) == (0, BUDGET // 2)
    assert "Raise the bid or widen the audience" in status.detail

    budget.set_spent(campaign_id=campaign.pk, micros=BUDGET // 4 - 1, day=NOON)
    assert delivery_status(campaign, now=NOON).state == "under_delivering"  # type: ignore[union-attr]
    budget.set_spent(campaign_id=campaign.pk, micros=BUDGET // 4, day=NOON)  # half the pace
    assert delivery_status(campaign, now=NOON).state == "on_pace"  # type: ignore[union-attr]
    budget.set_spent(campaign_id=campaign.pk, micros=BUDGET, day=NOON)
    spent = delivery_status(campaign, now=NOON)
    assert spent is not None
    assert spent.state == "budget_spent"
    assert not spent.is_problem


def test_not_judged_before_a_quarter_of_the_days_traffic() -> None:
    campaign = _serving_campaign()
    early = NOON.replace(hour=5)  # 5/24 of the day's traffic
    Campaign.objects.filter(pk=campaign.pk).update(start_at=early - timedelta(hours=1))
    campaign.refresh_from_db()
    status = delivery_status(campaign, now=early)
    assert status is not None
    assert status.state == "on_pace"
    assert status.spent_micros == 0


def test_each_reason_for_not_serving_in_the_order_it_is_fixed() -> None:
    org, user = org_with()  # never funded
    campaign = campaign_for(org, user, start_at=NOON - timedelta(hours=1))
    campaigns.campaign_set_status(user=user, campaign=campaign, status="active")
    status = delivery_status(campaign, now=NOON)
    assert status is not None
    assert status.state == "not_serving"
    assert status.add_funds
    assert "prepaid balance is used up" in status.detail

    from tests.ads.core_helpers import fund

    fund(org)
    assert "no active ad in an active ad group" in delivery_status(campaign, now=NOON).detail  # type: ignore[union-attr]
    group = group_for(campaign, user)
    ad = ad_for(group, user)
    unsent = delivery_status(campaign, now=NOON)
    assert unsent is not None
    assert "not submitted for review" in unsent.detail
    Ad.objects.filter(pk=ad.pk).update(review_state=Ad.Review.PENDING)
    waiting = delivery_status(campaign, now=NOON)
    assert waiting is not None
    assert "waiting for review" in waiting.detail
    assert not waiting.add_funds
    Ad.objects.filter(pk=ad.pk).update(review_state=Ad.Review.REJECTED)
    assert "rejected in review" in delivery_status(campaign, now=NOON).detail  # type: ignore[union-attr]
    Ad.objects.filter(pk=ad.pk).update(review_state=Ad.Review.APPROVED)
    AdGroup.objects.filter(pk=group.pk).update(status=AdGroup.Status.PAUSED)
    assert "no active ad in an active ad group" in delivery_status(campaign, now=NOON).detail  # type: ignore[union-attr]
    AdGroup.objects.filter(pk=group.pk).update(status=AdGroup.Status.ACTIVE)
    assert delivery_status(campaign, now=NOON).state == "under_delivering"  # type: ignore[union-attr]


def test_paused_draft_scheduled_and_past_campaigns() -> None:
    campaign = _serving_campaign()
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.PAUSED)
    campaign.refresh_from_db()
    assert delivery_status(campaign, now=NOON) is None  # its status says it
    Campaign.objects.filter(pk=campaign.pk).update(status=Campaign.Status.ACTIVE)
    campaign.refresh_from_db()
    assert delivery_status(campaign, now=NOON - timedelta(hours=2)).state == "not_started"  # type: ignore[union-attr]
    Campaign.objects.filter(pk=campaign.pk).update(end_at=NOON - timedelta(minutes=1))
    campaign.refresh_from_db()
    assert delivery_status(campaign, now=NOON).state == "ended"  # type: ignore[union-attr]


def test_without_redis_the_figures_are_said_to_be_unavailable() -> None:
    campaign = _serving_campaign()
    open_redis_breaker()
    status = delivery_status(campaign, now=NOON)
    assert status is not None
    assert status.state == "unknown"
    assert status.is_problem


def test_the_campaign_page_says_it_in_words() -> None:
    started = timezone.now() - timedelta(hours=1)
    campaign = live_ad(campaign_kw={"start_at": started}).ad_group.campaign
    admin = campaign.org.memberships.get().user
    client = Client()
    client.force_login(admin)
    url = f"/ads/o/{campaign.org_id}/campaigns/{campaign.pk}"
    page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    now = timezone.now()
    if now.hour * 60 + now.minute >= 6 * 60:  # past a quarter of the flat day: judged
        assert 'data-delivery="under_delivering"' in body
        assert "Under-delivering." in body
        assert "$0.00 of $" in body
    else:
        assert 'data-delivery="on_pace"' in body
    org, user = org_with()
    unfunded = campaign_for(org, user, start_at=now - timedelta(hours=1))
    campaigns.campaign_set_status(user=user, campaign=unfunded, status="active")
    client.force_login(user)
    body = client.get(f"/ads/o/{org.pk}/campaigns/{unfunded.pk}").content.decode()
    assert 'data-delivery="not_serving"' in body
    assert "prepaid balance is used up" in body
    assert f'href="/ads/o/{org.pk}/billing"' in body



def test_the_campaign_list_flags_the_ones_with_a_problem_in_flat_reads(
        django_assert_max_num_queries: Any) -> None:
    started = timezone.now() - timedelta(hours=1)
    first = live_ad(campaign_kw={"start_at": started, "name": "Serving"})
    org = first.ad_group.campaign.org
    admin = org.memberships.get().user
    idle = campaign_for(org, admin, name="No ads yet", start_at=started)
    campaigns.campaign_set_status(user=admin, campaign=idle, status="active")
    campaign_for(org, admin, name="Still a draft", start_at=started)
    client = Client()
    client.force_login(admin)
    url = f"/ads/o/{org.pk}/"
    with CaptureQueriesContext(connection) as few:
        page = client.get(url)
    assert page.status_code == 200
    body = page.content.decode()
    # the not-serving campaign is flagged in words; the draft says so by its status alone
    assert body.count('data-delivery-flag="not_serving"') == 1
    assert "Not serving" in body
    row = body[body.index(">No ads yet<"):]
    assert 'data-delivery-flag="not_serving"' in row[:row.index("</tr>")]
    draft_row = body[body.index(">Still a draft<"):]
    assert "data-delivery-flag" not in draft_row[:draft_row.index("</tr>")]
    # more campaigns, the same number of reads
    for n in range(4):
        more = campaign_for(org, admin, name=f"More {n}", start_at=started)
        campaigns.campaign_set_status(user=admin, campaign=more, status="active")
        live_ad(admin, org=org, campaign_kw={"start_at": started, "name": f"Live {n}"})
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = client.get(url).content.decode()
    assert body.count('data-delivery-flag="not_serving"') == 5
