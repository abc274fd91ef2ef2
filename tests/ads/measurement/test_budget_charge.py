"""A billing event is charged at most what is left of its campaign's budget for the day
(issue 19: pacing admits on an ad's *expected* cost, so a late click or view could take the
spend past the budget when it was billed in full). The check and the debit are one Redis
script; with Redis down, one campaign at a time against PostgreSQL's charges. Committed
transactions (real threads; the ledger checks its sets at commit)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.ads.delivery import budget
from apps.ads.measurement import billing, rollup
from apps.ads.measurement.events import Caller, ad_event_record
from apps.ads.measurement.reporting import ad_report
from apps.ads.models import Campaign
from apps.ads.models.measurement import AdEvent
from apps.core import redis_health
from apps.payments.models import LedgerAccount
from apps.payments.selectors import total_by_source
from tests.ads.measurement.conftest import BROWSER_UA, World, make_world, serve
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _small_budget(world: World, micros: int, kind: str = Campaign.BudgetKind.DAILY) -> None:
    Campaign.objects.filter(pk=world.campaign.pk).update(
        budget_micros=micros,
        budget_kind=kind,
        end_at=timezone.now() + timedelta(minutes=30)
        if kind == Campaign.BudgetKind.LIFETIME
        else None,
    )


def _click(world: World, price: int) -> AdEvent:
    viewer = UserFactory()
    token = serve(world.ads["cpc"], viewer=viewer, price=price)
    me = Caller(user_id=viewer.pk, user_agent=BROWSER_UA)
    ad_event_record(token=token, kind="impression", caller=me)
    return ad_event_record(token=token, kind="click", caller=me).event


def _charged(world: World) -> int:
    return int(
        sum(
            AdEvent.objects.filter(campaign_id=world.campaign.pk).values_list(
                "price_micros", flat=True
            )
        )
    )


def test_a_late_click_past_the_budget_is_charged_only_the_remainder() -> None:
    world = make_world()
    world.fund(100_000_000)
    _small_budget(world, 600_000)

    first = _click(world, 250_000)
    second = _click(world, 250_000)
    late = _click(world, 250_000)  # pacing admitted it on its expected cost; it clicked
    after = _click(world, 250_000)

    assert [first.price_micros, second.price_micros] == [250_000, 250_000]
    assert late.price_micros == 100_000  # what was left, not the auction's 250,000
    assert (after.price_micros, after.invalid_reason) == (0, "")  # counted, not charged
    assert AdEvent.objects.filter(kind="click", invalid_reason="").count() == 4
    assert _charged(world) == 600_000
    assert budget.spent([world.campaign.pk], day=timezone.now()) == {world.campaign.pk: 600_000}


def test_the_advertisers_report_and_the_ledger_show_the_capped_charge() -> None:
    world = make_world()
    world.fund(100_000_000)
    _small_budget(world, 400_000)
    for _ in range(3):
        _click(world, 250_000)

    rollup.rollup_days()
    billing.spend_post_all()
    today = timezone.now().date()
    report = ad_report(user=world.admin, org_id=world.org.pk, since=today, until=today, by="ad")
    moved = total_by_source(LedgerAccount.Kind.AD_BALANCE, owner_id=world.org.pk, asset="USD")

    assert report.total.spend_micros == 400_000
    assert -moved.get(billing.LEDGER_CODE, 0) == 400_000
    assert report.total.clicks == 3


def test_clicks_billed_at_once_from_many_threads_never_pass_the_budget() -> None:
    world = make_world()
    _small_budget(world, 250_000)
    viewers = [UserFactory() for _ in range(6)]
    tokens = [serve(world.ads["cpc"], viewer=v, price=100_000) for v in viewers]
    for v, token in zip(viewers, tokens, strict=True):
        ad_event_record(token=token, kind="impression", caller=Caller(v.pk, BROWSER_UA))
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def click(viewer: Any, token: str) -> None:
        try:
            barrier.wait()
            ad_event_record(token=token, kind="click", caller=Caller(viewer.pk, BROWSER_UA))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=click, args=pair) for pair in zip(viewers, tokens, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    prices = sorted(AdEvent.objects.filter(kind="click").values_list("price_micros", flat=True))
    assert prices == [0, 0, 0, 50_000, 100_000, 100_000]
    assert budget.spent([world.campaign.pk], day=timezone.now()) == {world.campaign.pk: 250_000}


def test_a_replayed_billing_event_takes_nothing_from_the_budget() -> None:
    world = make_world()
    _small_budget(world, 1_000_000)
    viewer = UserFactory()
    token = serve(world.ads["cpm"], viewer=viewer, price=300_000)
    me = Caller(user_id=viewer.pk, user_agent=BROWSER_UA)

    ad_event_record(token=token, kind="impression", caller=me)
    replay = ad_event_record(token=token, kind="impression", caller=me)

    assert (replay.event.invalid_reason, replay.charged) == ("duplicate", 0)
    assert budget.spent([world.campaign.pk], day=timezone.now()) == {world.campaign.pk: 300_000}


def test_a_lifetime_campaign_is_charged_at_most_todays_share() -> None:
    world = make_world()
    _small_budget(world, 300_000, kind=Campaign.BudgetKind.LIFETIME)  # ends today: all of it

    assert [_click(world, 250_000).price_micros for _ in range(2)] == [250_000, 50_000]


def test_with_redis_down_the_remainder_is_worked_out_from_the_charges() -> None:
    world = make_world()
    _small_budget(world, 600_000)
    _click(world, 250_000)
    _click(world, 250_000)
    redis_health.breaker().open_now("test: Redis is down")

    late = _click(world, 250_000)
    after = _click(world, 250_000)

    assert (late.price_micros, after.price_micros) == (100_000, 0)
    assert _charged(world) == 600_000
