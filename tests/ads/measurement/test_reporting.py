"""The daily table and the reports: rows by each breakdown sum to the same totals, reach is
exact over days and cells, rates follow from the sums, the CSV is exact money."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.ads.measurement import rollup
from apps.ads.measurement.events import Caller, ad_event_record
from apps.ads.measurement.reporting import DIMENSIONS, ad_report, micros_text, report_csv
from apps.ads.models.measurement import AdDailyStats
from apps.core.errors import ApplicationError, NotFoundError
from tests.ads.measurement.conftest import BROWSER_UA, World, make_world, serve
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _watch(
    world: World,
    viewer: object,
    strategy: str,
    *,
    at_days_ago: int,
    price: int,
    click: bool = False,
) -> None:
    start = timezone.now() - timedelta(days=at_days_ago, seconds=30)
    me = Caller(user_id=getattr(viewer, "pk", None), user_agent=BROWSER_UA)
    token = serve(world.ads[strategy], viewer=viewer, price=price, served_at=start)
    ad_event_record(token=token, kind="impression", caller=me, now=start + timedelta(seconds=1))
    ad_event_record(token=token, kind="view_2s", caller=me, now=start + timedelta(seconds=3))
    if click:
        ad_event_record(token=token, kind="click", caller=me, now=start + timedelta(seconds=4))


def test_every_breakdown_adds_up_to_the_same_totals(world: World) -> None:
    young, old = (
        UserFactory(date_of_birth=timezone.now().date().replace(year=2004), country="US"),
        UserFactory(country="BR"),
    )
    _watch(world, young, "cpm", at_days_ago=1, price=2_000)
    _watch(world, young, "cpm", at_days_ago=0, price=2_000)
    _watch(world, old, "cpm", at_days_ago=0, price=3_000)
    _watch(world, old, "cpc", at_days_ago=0, price=90_000, click=True)
    today = timezone.now().date()
    rollup.rollup_days([today - timedelta(days=1), today])

    reports = {
        by: ad_report(
            user=world.admin,
            org_id=world.org.pk,
            since=today - timedelta(days=1),
            until=today,
            by=by,
        )
        for by in DIMENSIONS
    }

    totals = {
        (r.total.impressions, r.total.views_2s, r.total.clicks, r.total.spend_micros, r.total.reach)
        for r in reports.values()
    }
    assert totals == {(4, 4, 1, 97_000, 2)}
    by_ad = {row.label: row for row in reports["ad"].rows}
    assert by_ad["cpm ad"].reach == 2  # two viewers, one of them on two days
    assert by_ad["cpm ad"].impressions == 3
    assert by_ad["cpm ad"].frequency == 1.5
    assert by_ad["cpm ad"].cpm_micros == 7_000 * 1000 // 3
    assert by_ad["cpc ad"].cpc_micros == 90_000
    assert by_ad["cpc ad"].ctr == 1.0
    assert [r.key for r in reports["day"].rows] == [
        (today - timedelta(days=1)).isoformat(),
        today.isoformat(),
    ]
    assert {r.key: r.impressions for r in reports["country"].rows} == {"US": 2, "BR": 2}
    assert {r.key: r.reach for r in reports["age_band"].rows} == {"18-24": 1, "25-34": 1}
    assert {r.label for r in reports["campaign"].rows} == {"Acme launch"}


def test_the_rollup_is_the_same_run_twice(world: World) -> None:
    _watch(world, UserFactory(), "cpm", at_days_ago=0, price=1_000)
    rollup.rollup_days()
    first = list(AdDailyStats.objects.values().order_by("ad_id", "age_band", "country"))
    rollup.rollup_days()
    assert list(AdDailyStats.objects.values().order_by("ad_id", "age_band", "country")) == first
    assert len(first) == 1


def test_a_report_narrows_to_an_ad_group(world: World) -> None:
    viewer = UserFactory()
    _watch(world, viewer, "cpm", at_days_ago=0, price=1_000)
    _watch(world, viewer, "cpv2s", at_days_ago=0, price=4_000)
    rollup.rollup_days()
    today = timezone.now().date()

    report = ad_report(
        user=world.admin,
        org_id=world.org.pk,
        since=today,
        until=today,
        by="ad",
        ad_group_id=world.groups["cpv2s"].pk,
    )

    assert [(r.label, r.spend_micros, r.cpv_micros) for r in report.rows] == [
        ("cpv2s ad", 4_000, 4_000)
    ]


def test_another_orgs_member_sees_no_report(world: World) -> None:
    other = make_world("Rival")
    today = timezone.now().date()
    with pytest.raises(NotFoundError):
        ad_report(user=other.admin, org_id=world.org.pk, since=today, until=today)
    with pytest.raises(ApplicationError):
        ad_report(user=world.admin, org_id=world.org.pk, since=today, until=today, by="colour")
    with pytest.raises(ApplicationError):
        ad_report(
            user=world.admin, org_id=world.org.pk, since=today, until=today - timedelta(days=1)
        )


def test_the_csv_has_exact_money_and_no_formulas(world: World) -> None:
    world.ads["cpm"].name = '=HYPERLINK("http://evil")'
    world.ads["cpm"].save(update_fields=["name"])
    _watch(world, UserFactory(), "cpm", at_days_ago=0, price=1_234_567)
    rollup.rollup_days()
    today = timezone.now().date()

    text = report_csv(
        ad_report(user=world.admin, org_id=world.org.pk, since=today, until=today, by="ad")
    )
    rows = list(csv.DictReader(io.StringIO(text)))

    assert [r["breakdown"] for r in rows] == ["ad", "total"]
    assert rows[0]["name"].startswith("'=")
    assert rows[0]["spend"] == rows[1]["spend"] == "1.234567"
    assert rows[0]["cpm"] == "1234.567000"
    assert micros_text(5) == "0.000005"


def test_a_report_costs_the_same_queries_for_one_row_or_many(
    world: World,
) -> None:
    today = timezone.now().date()
    viewer = UserFactory()
    _watch(world, viewer, "cpm", at_days_ago=0, price=1_000)
    rollup.rollup_days()
    with CaptureQueriesContext(connection) as one:
        ad_report(user=world.admin, org_id=world.org.pk, since=today, until=today, by="ad")
    for strategy in ("cpc", "cpv2s"):
        for _ in range(3):
            _watch(world, UserFactory(), strategy, at_days_ago=0, price=1_000)
    rollup.rollup_days()

    with CaptureQueriesContext(connection) as many:
        report = ad_report(user=world.admin, org_id=world.org.pk, since=today, until=today, by="ad")

    assert len(report.rows) == 3
    assert len(many.captured_queries) == len(one.captured_queries)
