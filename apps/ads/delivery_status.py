"""Is a campaign delivering, and if not, why: the advertiser's answer in words (the portal's
campaign page). One read per campaign page, from the same rules serving uses:

- *Not serving*: the campaign is active but `selectors.live_ads` (serving's one eligibility
  rule) returns none of its ads. The reason is the first missing condition, in the order an
  advertiser fixes them: the prepaid balance, an ad group and ad switched on, an approved
  ad, then the rest (audiences below the minimum size, a spark ad's permission ended).
- *Under-delivering*: it can serve, a quarter of the day's expected traffic has passed
  (pacing's curve, `pacing.curve_share`), and today's spend is below half of what pacing
  would allow by now (daily budget x F(t)): its bids lose the auctions, or its targeting
  finds few viewers. A lifetime budget has no daily curve and is not judged.
- *Today's budget spent*, *on pace*, *not started*, *ended*: said as they are.

Spend is pacing's counter (`budget.spent`, today's UTC day); without Redis the page says
the figures are unavailable rather than guessing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import redis
from django.utils import timezone

from apps.ads import selectors
from apps.ads.delivery import budget, pacing
from apps.ads.models import Ad, AdGroup, Campaign
from apps.ads.services import funding

# Judged only once this share of the day's traffic has passed (earlier, a few auctions
# decide the ratio), and under-delivering below this share of the allowance so far.
JUDGED_FROM_SHARE = 0.25
UNDER_DELIVERY_RATIO = 0.5


@dataclass(frozen=True)
class DeliveryStatus:
    # not_started | ended | not_serving | under_delivering | budget_spent | on_pace | unknown
    state: str
    headline: str
    detail: str
    spent_micros: int | None = None
    expected_micros: int | None = None
    add_funds: bool = False  # the fix is a top-up (the page links to billing)

    @property
    def is_problem(self) -> bool:
        return self.state in {"not_serving", "under_delivering", "unknown"}


def _not_serving(campaign: Campaign) -> DeliveryStatus:
    if funding.balance_micros(campaign.org) <= 0:
        return DeliveryStatus("not_serving", "Not serving",
                              "Your prepaid balance is used up: add funds to resume.",
                              add_funds=True)
    return DeliveryStatus("not_serving", "Not serving", _why_not_serving(campaign))


def _why_not_serving(campaign: Campaign) -> str:
    ads = Ad.objects.filter(ad_group__campaign=campaign)
    switched_on = ads.filter(status=Ad.Status.ACTIVE, ad_group__status=AdGroup.Status.ACTIVE)
    if not switched_on.exists():
        return "It has no active ad in an active ad group: add an ad or switch one on."
    if not switched_on.filter(review_state=Ad.Review.APPROVED).exists():
        if switched_on.filter(review_state=Ad.Review.REJECTED).exists():
            return ("Its ads were rejected in review: open an ad to read why, then edit it "
                    "and submit it again.")
        if switched_on.filter(review_state=Ad.Review.PENDING).exists():
            return "Its ads are waiting for review: they serve once approved."
        return "Its ads were not submitted for review: submit one from its page."
    return ("Its approved ads cannot serve: the custom audiences their ad groups name are below "
            "the minimum size, or a creator's permission for a spark ad has ended.")


def delivery_status(campaign: Campaign, *, now: datetime | None = None) -> DeliveryStatus | None:
    """The campaign's delivery in words, or None for a draft, paused or ended campaign (its
    status already says it does not serve)."""
    return delivery_statuses([campaign], now=now, explain=True)[campaign.pk]


def delivery_statuses(
    campaigns: list[Campaign], *, now: datetime | None = None, explain: bool = False,
) -> dict[int, DeliveryStatus | None]:
    """Each campaign's delivery, with the same reads whatever the number of campaigns (the
    portal's campaign list flags the ones with a problem): one eligibility read, one spend
    read. `explain` adds why a campaign does not serve (a few reads a campaign: the
    campaign page's one campaign)."""
    now = now or timezone.now()
    judged = [c for c in campaigns if c.status == Campaign.Status.ACTIVE]
    answer: dict[int, DeliveryStatus | None] = {c.pk: None for c in campaigns}
    running = [c for c in judged
               if not (c.end_at and c.end_at <= now) and c.start_at <= now]
    live = selectors.live_ads(now, campaign_ids=[c.pk for c in running]) if running else []
    serving = {ad.campaign_id for ad in live}
    try:
        spent = budget.spent([c.pk for c in running if c.pk in serving], day=now) if serving else {}
    except redis.RedisError:
        spent = None
    for campaign in judged:
        answer[campaign.pk] = _judged(campaign, now, campaign.pk in serving, spent, explain)
    return answer


def _judged(campaign: Campaign, now: datetime, serving: bool,
            spent_by_campaign: dict[int, int] | None, explain: bool) -> DeliveryStatus:
    if campaign.end_at and campaign.end_at <= now:
        return DeliveryStatus("ended", "Schedule over",
                              "Its end date has passed: it no longer serves.")
    if campaign.start_at > now:
        return DeliveryStatus("not_started", "Scheduled",
                              "It starts serving at its scheduled start.")
    if not serving:
        if explain:
            return _not_serving(campaign)
        return DeliveryStatus("not_serving", "Not serving",
                              "None of its ads can serve now: open it to see why.")
    if spent_by_campaign is None:
        return DeliveryStatus("unknown", "Delivery figures unavailable",
                              "Today's spend cannot be read right now; try again in a minute.")
    spent = spent_by_campaign.get(campaign.pk, 0)
    if campaign.budget_kind != Campaign.BudgetKind.DAILY:
        return DeliveryStatus("on_pace", "Serving", "It is eligible to serve.", spent, None)
    if spent >= campaign.budget_micros:
        return DeliveryStatus("budget_spent", "Today's budget spent",
                              "It serves again when the next day (UTC) starts.",
                              spent, campaign.budget_micros)
    share = pacing.curve_share(now)
    expected = int(campaign.budget_micros * share)
    if share >= JUDGED_FROM_SHARE and spent < expected * UNDER_DELIVERY_RATIO:
        return DeliveryStatus(
            "under_delivering", "Under-delivering",
            "It is spending well below its budget's pace: its bids lose most auctions, or its "
            "targeting finds few viewers. Raise the bid or widen the audience.",
            spent, expected)
    return DeliveryStatus("on_pace", "On pace", "It is spending its budget over the day.",
                          spent, expected)
