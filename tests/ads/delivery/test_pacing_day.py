"""Pacing over a whole simulated day: a campaign that has the traffic to spend its budget
ends the day within 2 % of it and never over, whatever the bursts (the pre-auction throttle,
the atomic admission and the in-flight holds of billing events that come 1-30 s later, each
charged through billing's `budget.charge`: at most what is left of the budget)."""

from __future__ import annotations

import heapq
import random
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from apps.ads.delivery import budget, pacing

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from ads_day import minute_weights

DAY = datetime(2026, 12, 7, tzinfo=UTC)


def _requests(total: int, rng: random.Random) -> list[datetime]:
    """`total` ad requests along the traffic curve, with bursts (the bench's day)."""
    weights = minute_weights(rng, DAY)
    scale = total / sum(weights)
    out = []
    for minute, w in enumerate(weights):
        n = round(w * scale)
        out += [DAY + timedelta(minutes=minute, seconds=60 * k / n) for k in range(n)]
    return out


def _bill(campaign: int, price: int, budget_micros: int, *, at: datetime, served: datetime,
          hold: int) -> None:
    """A click or view as billing charges it: at most what is left, its hold released."""
    budget.charge(campaign_id=campaign, price_micros=price, budget_micros=budget_micros,
                  at=at, served_at=served, release_micros=hold)


@pytest.mark.parametrize(
    ("campaign", "price", "p_billed", "budget_micros"),
    [
        (1, 4_000, 1.0, 4_000_000),  # CPM: 1,000 impressions of ~2,000 requests
        (2, 20_000, 0.08, 1_600_000),  # CPC: 80 clicks, ~1,000 ads of ~2,000 requests
        # CPC: a budget of 1.5 clicks. The last half click is sold (charged the remainder);
        # when admission wanted a whole click's price left it stopped at 20,000 (67 %).
        (3, 20_000, 0.08, 30_000),
    ],
)
def test_a_campaign_with_the_traffic_spends_its_day_within_2_percent(
    campaign: int, price: int, p_billed: float, budget_micros: int
) -> None:
    rng = random.Random(campaign)
    pending: list[tuple[datetime, datetime, int]] = []  # (billed at, served at, hold)
    noon = DAY + timedelta(hours=12)
    at_noon = None
    for now in _requests(2_000, rng):
        if at_noon is None and now >= noon:
            at_noon = budget.spent([campaign], day=DAY)[campaign]
        while pending and pending[0][0] <= now:
            at, served, hold = heapq.heappop(pending)
            _bill(campaign, price, budget_micros, at=at, served=served, hold=hold)
        state = pacing.states({campaign: budget_micros}, now=now)[campaign]
        if not pacing.passes(state, rng=rng):
            continue
        hold = pacing.expected_cost(price, p_billed)
        admitted = pacing.admit(
            campaign_id=campaign,
            budget_micros=budget_micros,
            cost_micros=hold,
            now=now,
        )
        if admitted and rng.random() < p_billed:
            billed = now + timedelta(seconds=rng.uniform(1, 30))
            heapq.heappush(pending, (billed, now, hold))
    last = DAY + timedelta(days=1, seconds=-1)
    for at, served, hold in pending:
        _bill(campaign, price, budget_micros, at=min(at, last), served=served, hold=hold)
    spent = budget.spent([campaign], day=DAY)[campaign]
    assert 0.98 * budget_micros <= spent <= budget_micros
    # Smooth, not front-loaded: at noon it was near the curve's share of the day, not past
    # it (beyond a couple of clicks more than expected), nor far behind (a budget of a
    # click or two cannot be spread over the day).
    assert at_noon is not None
    if budget_micros < 50 * price:
        return
    share = pacing.curve_share(noon)
    assert at_noon <= pacing.allowance(budget_micros, noon) + 2 * price
    assert at_noon >= (share - 0.1) * budget_micros
