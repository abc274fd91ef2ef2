"""Billing: a charge is the auction's price on the token's valid billing event, recorded
once on its `AdEvent` row (`events.ad_event_record`). Two consumers read the charges:

- pacing: after the event commits, `spend_to_budget` adds it to delivery's Redis spend
  counters (`delivery.budget.record_spend`), which the auction reads to stop at the budget;
- the books: `spend_post` (beat `ads.post_spend`, every 5 minutes) moves the org's charged,
  not yet posted spend from its prepaid balance (`ad_balance`) into platform revenue in the
  payments ledger. One transaction claims the events (compare-and-set on `posting`), posts
  the ledger set `ads-spend:<posting id>` (code `ad_spend`) and writes the `SpendPosting`:
  all or nothing, so a charge is in the books exactly once however often it runs.

The prepaid account may never go negative. When the charges exceed what is available (the
org's balance ran out between the auction and the posting), the oldest charges that fit are
posted and the rest wait, owed, for the next top-up (`owed_micros`)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta
from types import SimpleNamespace

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from redis import RedisError

from apps.ads.models import AdvertiserOrg
from apps.ads.models.measurement import AdEvent, SpendPosting
from apps.ads.services.funding import balance_account
from apps.core.ids import allocate_ids
from apps.payments.models import LedgerAccount
from apps.payments.selectors import account_balance
from apps.payments.services.ledger import Leg, platform_account, post_transfers

logger = logging.getLogger(__name__)

LEDGER_CODE = "ad_spend"
BATCH = 5000  # charges per posting


def spend_to_budget(campaign_id: int, micros: int, at: datetime, served_at: datetime) -> None:
    """Tell pacing a charge happened (after commit). Redis may be down: pacing then reads a
    lower spend until `budget_counters_reconcile` raises the counter to the charges."""
    from apps.ads.delivery import budget

    try:
        budget.record_spend(campaign_id=campaign_id, micros=micros, at=at, served_at=served_at)
    except Exception:  # the charge is recorded in PostgreSQL; pacing is best effort
        logger.warning(
            "ads.budget_record_failed", extra={"campaign_id": campaign_id}, exc_info=True
        )


def day_budget_micros(campaign_id: int, now: datetime) -> int:
    """What the campaign may spend on `now`'s (UTC) day, as pacing serves it: a daily budget
    whole, a lifetime one today's share (`delivery.snapshot.daily_budgets`). 0 when the
    campaign is gone."""
    from apps.ads.delivery.snapshot import daily_budgets
    from apps.ads.models import Campaign

    row = Campaign.objects.filter(pk=campaign_id).values("budget_kind", "budget_micros").first()
    if row is None:
        return 0
    ad = SimpleNamespace(campaign_id=campaign_id, **row)
    return int(daily_budgets([ad], now).get(campaign_id, 0))


def charge_within_budget(
    *, campaign_id: int, price_micros: int, at: datetime, served_at: datetime
) -> tuple[int, bool]:
    """The micros a valid billing event is charged: its price, or what is left of the day's
    budget when less (a late click or view of an ad pacing admitted on its expected cost).
    Checked and debited at once in delivery's Redis counter (`budget.charge`); the second
    value is True when the counter has it. When Redis is unavailable the check is made in
    PostgreSQL instead (`_charge_from_rows`, inside the caller's transaction) and the
    counter is told after commit (`spend_to_budget`, or reconciliation)."""
    from apps.ads.delivery import budget

    try:
        allowed = day_budget_micros(campaign_id, at)
        return (
            budget.charge(
                campaign_id=campaign_id,
                price_micros=price_micros,
                budget_micros=allowed,
                at=at,
                served_at=served_at,
            ),
            True,
        )
    except RedisError:
        logger.warning("ads.budget_charge_from_rows", extra={"campaign_id": campaign_id})
        return _charge_from_rows(campaign_id, price_micros, at), False


def _charge_from_rows(campaign_id: int, price_micros: int, at: datetime) -> int:
    """Redis down: the budget check against the charges recorded in PostgreSQL, one
    campaign at a time (advisory lock until the caller's commit). A daily budget against
    the day's charges, a lifetime one against all of its charges."""
    from apps.ads.models import Campaign

    row = Campaign.objects.filter(pk=campaign_id).values("budget_kind", "budget_micros").first()
    if row is None:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"ads-charge:{campaign_id}"]
        )
    charged = AdEvent.objects.filter(campaign_id=campaign_id, price_micros__gt=0)
    if row["budget_kind"] != Campaign.BudgetKind.LIFETIME:
        start = datetime.combine(at.astimezone(UTC).date(), time.min, tzinfo=UTC)
        charged = charged.filter(created_at__gte=start, created_at__lt=start + timedelta(days=1))
    total = int(charged.aggregate(s=Sum("price_micros"))["s"] or 0)
    return max(0, min(price_micros, int(row["budget_micros"]) - total))


def budget_counters_reconcile(*, now: datetime | None = None) -> int:
    """Raise today's Redis spend counters that are below the charges recorded today (a
    lost write, a Redis restart); the number of counters raised."""
    from apps.ads.delivery import budget

    now = now or timezone.now()
    start = datetime.combine(now.astimezone(UTC).date(), time.min, tzinfo=UTC)
    charged = dict(
        AdEvent.objects.filter(created_at__gte=start, price_micros__gt=0)
        .values("campaign_id")
        .annotate(s=Sum("price_micros"))
        .values_list("campaign_id", "s")
        .order_by()
    )
    if not charged:
        return 0
    counted = budget.spent(charged, day=now)
    raised = 0
    for campaign_id, micros in charged.items():
        if counted.get(campaign_id, 0) < micros:
            budget.set_spent(campaign_id=campaign_id, micros=int(micros), day=now)
            raised += 1
    return raised


def spend_post(*, org_id: int) -> SpendPosting | None:
    """Post the org's charged, unposted spend to the ledger (oldest first, as much as its
    balance covers). None when there was nothing to post (or nothing it could pay)."""
    org = AdvertiserOrg.objects.filter(pk=org_id).first()
    if org is None:
        logger.error("ads.spend_without_org", extra={"org_id": org_id})
        return None
    with transaction.atomic():
        # one posting per org at a time: the balance read below stays true until commit
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"ads-spend:{org_id}"]
            )
        account = balance_account(org)
        available = account_balance(account).available
        charges = list(
            AdEvent.objects.filter(org_id=org_id, price_micros__gt=0, posting__isnull=True)
            .order_by("id")
            .values_list("id", "price_micros")[:BATCH]
        )
        picked, total = [], 0
        for event_id, price in charges:
            if total + price > available:
                break
            picked.append(event_id)
            total += price
        if len(picked) < len(charges):
            logger.warning(
                "ads.spend_exceeds_balance",
                extra={
                    "org_id": org_id,
                    "available": available,
                    "owed_events": len(charges) - len(picked),
                },
            )
        if not picked:
            return None
        (posting_id,) = allocate_ids(1)
        # compare-and-set: only charges no other posting took (the FK is checked at commit)
        claimed = AdEvent.objects.filter(pk__in=picked, posting__isnull=True).update(
            posting_id=posting_id
        )
        amount = (
            AdEvent.objects.filter(posting_id=posting_id).aggregate(s=Sum("price_micros"))["s"] or 0
        )
        if not claimed or amount <= 0:
            return None
        entry = post_transfers(
            key=f"ads-spend:{posting_id}",
            code=LEDGER_CODE,
            legs=[
                Leg(
                    debit=account,
                    credit=platform_account(
                        LedgerAccount.Kind.PLATFORM_REVENUE, org.currency, org_id
                    ),
                    amount=amount,
                    code=LEDGER_CODE,
                )
            ],
            memo=f"Ad spend of advertiser {org_id}",
            metadata={"org_id": str(org_id)},
        )
        return SpendPosting.objects.create(
            id=posting_id,
            org_id=org_id,
            currency=org.currency,
            amount_micros=amount,
            event_count=claimed,
            transfer_set_id=entry.pk,
        )


def spend_post_all() -> int:
    """Every org with unposted charges; the number of postings made."""
    org_ids = (
        AdEvent.objects.filter(price_micros__gt=0, posting__isnull=True)
        .values_list("org_id", flat=True)
        .distinct()
    )
    made = 0
    for org_id in list(org_ids):
        while True:
            posting = spend_post(org_id=org_id)
            if posting is None:
                break
            made += 1
            if posting.event_count < BATCH:
                break
    return made


def owed_micros(org_id: int) -> int:
    """Charged spend not yet in the ledger (waiting for the next posting, or a top-up)."""
    return int(
        AdEvent.objects.filter(org_id=org_id, price_micros__gt=0, posting__isnull=True).aggregate(
            s=Sum("price_micros")
        )["s"]
        or 0
    )


def posted_micros(org_id: int) -> int:
    """The org's ad spend in the ledger: the sum of its postings' sets (each one leg)."""
    return int(
        SpendPosting.objects.filter(org_id=org_id).aggregate(s=Sum("amount_micros"))["s"] or 0
    )
