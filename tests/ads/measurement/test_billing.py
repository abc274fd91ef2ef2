"""Billing into the ledger: charged spend moves from the org's prepaid balance to platform
revenue exactly once, never overdraws the balance, and the report's spend equals the
ledger's to the micro. Committed transactions (the ledger checks its sets at commit)."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from apps.ads.measurement import billing, rollup
from apps.ads.measurement.events import Caller, ad_event_record
from apps.ads.measurement.reporting import ad_report
from apps.ads.models.measurement import AdEvent, SpendPosting
from apps.payments.models import LedgerAccount
from apps.payments.selectors import platform_balance, total_by_source
from apps.payments.services.reconcile import reconcile_ledger
from tests.ads.measurement.conftest import BROWSER_UA, World, make_world, serve
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _ledger_spend(world: World) -> int:
    moved = total_by_source(LedgerAccount.Kind.AD_BALANCE, owner_id=world.org.pk, asset="USD")
    return -moved.get(billing.LEDGER_CODE, 0)


def _traffic(world: World, viewers: int = 4) -> int:
    """Impressions, clicks and views on the three ads (some invalid); the micros charged."""
    start = timezone.now() - timedelta(seconds=40)
    for n in range(viewers):
        viewer = UserFactory(country="US" if n % 2 else "DE")
        me = Caller(user_id=viewer.pk, user_agent=BROWSER_UA)
        for strategy, price in (("cpm", 1_111 + n), ("cpc", 250_000 + n), ("cpv2s", 33_333)):
            token = serve(world.ads[strategy], viewer=viewer, price=price, served_at=start)
            for kind, at in (
                ("impression", 1),
                ("view_2s", 3),
                ("view_6s", 8),
                ("click", 9),
                ("click", 10),
            ):  # the second click is a replay
                ad_event_record(
                    token=token, kind=kind, caller=me, now=start + timedelta(seconds=at)
                )
        bot = Caller(user_id=viewer.pk, user_agent="Googlebot/2.1")
        ad_event_record(token=serve(world.ads["cpm"], viewer=viewer), kind="impression", caller=bot)
    return int(sum(AdEvent.objects.values_list("price_micros", flat=True)))


def test_report_spend_equals_the_ledgers_spend_exactly() -> None:
    world = make_world()
    world.fund(100_000_000)
    charged = _traffic(world)

    rollup.rollup_days()
    made = billing.spend_post_all()
    again = billing.spend_post_all()
    today = timezone.now().date()
    report = ad_report(user=world.admin, org_id=world.org.pk, since=today, until=today, by="ad")

    assert made == 1
    assert again == 0
    # per viewer n: its CPM impression, its first CPC click, its CPV 2 s view
    assert charged == sum(1_111 + n + 250_000 + n + 33_333 for n in range(4))
    assert report.total.spend_micros == charged
    assert _ledger_spend(world) == charged
    assert billing.owed_micros(world.org.pk) == 0
    assert platform_balance(LedgerAccount.Kind.PLATFORM_REVENUE, "USD").balance == charged
    assert reconcile_ledger().differences == 0


def test_spend_past_the_balance_waits_for_a_top_up() -> None:
    world = make_world()
    world.fund(3_000)
    viewer = UserFactory()
    me = Caller(user_id=viewer.pk, user_agent=BROWSER_UA)
    for _ in range(3):
        ad_event_record(
            token=serve(world.ads["cpm"], viewer=viewer, price=1_500), kind="impression", caller=me
        )

    billing.spend_post_all()
    posted_before = _ledger_spend(world)
    owed_before = billing.owed_micros(world.org.pk)
    world.fund(10_000, key="fund-2")
    billing.spend_post_all()

    assert (posted_before, owed_before) == (3_000, 1_500)
    assert _ledger_spend(world) == 4_500
    assert billing.owed_micros(world.org.pk) == 0
    assert reconcile_ledger().differences == 0


def test_two_postings_at_once_take_each_charge_once() -> None:
    world = make_world()
    world.fund(100_000_000)
    viewer = UserFactory()
    me = Caller(user_id=viewer.pk, user_agent=BROWSER_UA)
    for _ in range(10):
        ad_event_record(
            token=serve(world.ads["cpm"], viewer=viewer, price=700), kind="impression", caller=me
        )
    errors: list[BaseException] = []

    def post() -> None:
        try:
            billing.spend_post(org_id=world.org.pk)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    assert SpendPosting.objects.count() == 1
    assert _ledger_spend(world) == 7_000
    assert not AdEvent.objects.filter(price_micros__gt=0, posting__isnull=True).exists()


def test_pacing_counters_are_raised_to_the_charges(settings: Any) -> None:
    from apps.ads.delivery import budget

    world = make_world()
    viewer = UserFactory()
    ad_event_record(
        token=serve(world.ads["cpm"], viewer=viewer, price=5_000),
        kind="impression",
        caller=Caller(user_id=viewer.pk, user_agent=BROWSER_UA),
    )
    budget.set_spent(campaign_id=world.campaign.pk, micros=0, day=timezone.now())  # lost

    raised = billing.budget_counters_reconcile()

    assert raised == 1
    assert budget.spent([world.campaign.pk], day=timezone.now()) == {world.campaign.pk: 5_000}


def test_a_token_replayed_at_once_from_many_threads_is_charged_once() -> None:
    world = make_world()
    viewer = UserFactory()
    token = serve(world.ads["cpm"], viewer=viewer, price=2_222)
    me = Caller(user_id=viewer.pk, user_agent=BROWSER_UA)
    barrier = threading.Barrier(6)
    errors: list[BaseException] = []

    def replay() -> None:
        try:
            barrier.wait()
            ad_event_record(token=token, kind="impression", caller=me)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=replay) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert errors == []
    rows = list(AdEvent.objects.values_list("invalid_reason", "price_micros"))
    assert sorted(rows) == [("", 2_222)] + [("duplicate", 0)] * 5
