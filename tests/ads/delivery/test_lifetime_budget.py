"""A lifetime budget is paced over the days left: today's share is fixed when the day
begins, whatever today's charges (the share used to grow with each charge, so a campaign
could spend nearly all of its lifetime budget on its first day)."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.utils import timezone

from apps.ads.delivery import budget
from apps.ads.delivery.snapshot import daily_budgets, lifetime_allowance
from apps.ads.models import Campaign
from tests.ads.core_helpers import campaign_for, org_with

pytestmark = pytest.mark.django_db


def test_todays_share_does_not_grow_with_todays_spend() -> None:
    lifetime, days = 1_000, 10
    shares = {lifetime_allowance(lifetime - spent, spent, days) for spent in range(0, 101, 5)}
    assert shares == {100}
    # spending stops at the share: the old formula (spent + left // days) allowed 919 here
    assert lifetime_allowance(lifetime - 100, 100, days) == 100
    assert lifetime_allowance(0, 1_000, 1) == 1_000  # the last day: whatever was left
    assert lifetime_allowance(-50, 0, 3) == 0  # overspent: nothing


def test_a_lifetime_campaign_gets_an_even_share_of_what_was_left_at_the_days_start() -> None:
    org, admin = org_with()
    now = timezone.now()
    campaign = campaign_for(org, admin, budget_kind="lifetime", budget_micros=100_000_000,
                            end_at=now + timedelta(days=10, minutes=1))
    daily = campaign_for(org, admin, name="Daily", budget_micros=7_000_000)
    ads = [SimpleNamespace(campaign_id=c.pk, budget_kind=c.budget_kind,
                           budget_micros=c.budget_micros) for c in (campaign, daily)]
    assert campaign.budget_kind == Campaign.BudgetKind.LIFETIME

    before = daily_budgets(ads, now)
    assert before == {campaign.pk: 100_000_000 // 11, daily.pk: 7_000_000}
    for spent in (1_000_000, 5_000_000, before[campaign.pk]):
        budget.set_spent(campaign_id=campaign.pk, micros=spent, day=now)
        assert daily_budgets(ads, now)[campaign.pk] == before[campaign.pk]
