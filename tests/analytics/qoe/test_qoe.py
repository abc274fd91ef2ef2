"""QoE for operators (issue 22): the figures from known events in the real lake (Parquet
read by chdb), each equal to the definition computed here in plain Python from the same
plays; the alert thresholds raising the project's alert once and recovering; the staff
console page for staff, refused to everyone else; threshold edits in the audit trail."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from apps.analytics.models import QoeThreshold
from apps.analytics.qoe import alerts
from apps.analytics.qoe.figures import QoeFilters, QoeRow, qoe_report, qoe_window
from apps.core.models import AuditEvent
from tests.experiments.lake_data import lake_event, write_events
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

TODAY = datetime.now(tz=UTC).date()
DAY1, DAY2 = TODAY - timedelta(days=2), TODAY - timedelta(days=1)
ANDROID: dict[str, Any] = {
    "app_version": "4.2.0",
    "user_agent": "SwipeMe/4.2.0 (Linux; Android 14)",
}
IOS: dict[str, Any] = {
    "app_version": "4.2.0",
    "user_agent": "SwipeMe/4.2.0 CFNetwork Darwin iPhone",
}
WEB: dict[str, Any] = {"user_agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/131"}


@dataclass
class Play:
    day: date
    client: dict[str, Any]
    network: str | None
    rung: int | None
    ttff: int | None
    rebuffers: int
    rebuffer_ms: int
    bitrate: int | None
    error: str = ""
    watched: int | None = 10_000  # None: no watch_end for this play
    watch_gap_s: int = 0  # seconds between the play's watch_end and its qoe report

    def platform(self) -> str:
        if not self.client.get("app_version"):
            return "web"
        return "android" if "Android" in self.client["user_agent"] else "ios"


PLAYS = [
    Play(DAY1, WEB, "wifi", 720, 310, 0, 0, 2400, watched=12_000),
    Play(DAY1, WEB, "wifi", 720, 450, 1, 800, 2400, watched=20_000),
    Play(DAY1, WEB, "4g", 540, 620, 2, 1500, 1500, watched=9_000),
    Play(DAY1, ANDROID, "4g", 360, 980, 0, 0, 800, watched=4_000),
    Play(DAY1, ANDROID, "3g", 240, None, 0, 0, None, error="manifestLoadError", watched=700),
    Play(DAY1, IOS, "wifi", 1080, 240, 0, 0, 5200, watched=30_000),
    Play(DAY2, WEB, "wifi", 720, 290, 0, 0, 2400, watched=15_000),
    Play(DAY2, WEB, "4g", None, 1800, 3, 2400, 1200, watched=None),  # unpaired: no watch_end
    Play(DAY2, IOS, "cellular", 540, 700, 1, 300, 1500, watched=6_000, watch_gap_s=90),
    Play(DAY2, ANDROID, None, 360, 520, 0, 0, 800, error="bufferStalledError", watched=8_000),
    Play(DAY2, WEB, "wifi", 720, 260, 1, 200, 2400, watched=25_000),
    Play(DAY2, ANDROID, "4g", None, None, 0, 0, None, error="fragLoadError", watched=300),
]


@pytest.fixture
def lake(settings: Any, tmp_path: Path) -> Path:
    settings.LAKE_ROOT = tmp_path / "lake"
    settings.LAKE_S3_BUCKET = ""
    settings.CLICKHOUSE_URL = ""
    return tmp_path / "lake"


def _write(plays: list[Play]) -> None:
    events: list[dict[str, Any]] = []
    for n, play in enumerate(plays):
        at = datetime.combine(play.day, time(9), tzinfo=UTC) + timedelta(minutes=5 * n)
        session, post = f"sess-{n % 3}", 1000 + n
        if play.watched is not None:
            events.append(
                lake_event(
                    "watch_end",
                    at - timedelta(seconds=play.watch_gap_s),
                    session_id=session,
                    post_id=post,
                    watched_ms=play.watched,
                    duration_ms=30_000,
                    **play.client,
                )
            )
        data: dict[str, Any] = {
            "ttff_ms": play.ttff,
            "rebuffer_count": play.rebuffers,
            "rebuffer_ms": play.rebuffer_ms,
            "bitrate_kbps": play.bitrate,
            "network_type": play.network,
            "rung": play.rung,
            "error": play.error or None,
        }
        events.append(
            lake_event(
                "qoe",
                at + timedelta(milliseconds=3),
                session_id=session,
                post_id=post,
                **play.client,
                **{k: v for k, v in data.items() if v is not None},
            )
        )
        # what must not count: another play's events in the same session, a like
        events.append(lake_event("like", at, session_id=session, post_id=post, **play.client))
    # a watch_end of another post in the same session just before a report: not its play
    events.append(
        lake_event(
            "watch_end",
            datetime.combine(DAY2, time(8, 59), tzinfo=UTC),
            session_id="sess-1",
            post_id=99,
            watched_ms=99_000,
            duration_ms=99_000,
        )
    )
    write_events(events)


def _rank(values: list[int], q: float) -> float | None:
    """The documented quantile: the value at 0-based rank floor(q·n) of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, math.floor(q * len(ordered)))])


def _expected(plays: list[Play]) -> dict[str, Any]:
    ttff = [p.ttff for p in plays if p.ttff is not None]
    paired = [p for p in plays if p.watched is not None and p.watch_gap_s <= 60]
    watched = sum(p.watched or 0 for p in paired)
    with_rate = [p for p in paired if p.bitrate is not None]
    rate_watch = sum(p.watched or 0 for p in with_rate)
    failures = sum(1 for p in plays if p.error and p.ttff is None)
    return {
        "reports": len(plays),
        "ttff_count": len(ttff),
        "ttff_p50_ms": _rank(ttff, 0.5),
        "ttff_p95_ms": _rank(ttff, 0.95),
        "rebuffer_ratio": sum(p.rebuffer_ms for p in paired) / watched if watched else None,
        "stall_percentage": 100 * sum(1 for p in plays if p.rebuffers > 0) / len(plays),
        "avg_bitrate_kbps": (
            sum((p.bitrate or 0) * (p.watched or 0) for p in with_rate) / rate_watch
            if rate_watch
            else None
        ),
        "startup_failures": failures,
        "startup_failure_rate": 100 * failures / len(plays),
    }


def _figures(row: QoeRow) -> dict[str, Any]:
    return {
        name: getattr(row, name)
        for name in (
            "reports",
            "ttff_count",
            "ttff_p50_ms",
            "ttff_p95_ms",
            "rebuffer_ratio",
            "stall_percentage",
            "avg_bitrate_kbps",
            "startup_failures",
            "startup_failure_rate",
        )
    }


def _approx(expected: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (pytest.approx(v, rel=1e-12) if isinstance(v, float) else v) for k, v in expected.items()
    }


def test_figures_by_day_platform_network_and_rung_from_known_events(lake):
    _write(PLAYS)
    report = qoe_report(QoeFilters(first_day=DAY1, last_day=TODAY))

    assert _figures(report.total) == _approx(_expected(PLAYS))
    # a hand check of the definitions on the whole set: 10 first frames, ranks 5 and 9
    assert (report.total.ttff_p50_ms, report.total.ttff_p95_ms) == (520.0, 1800.0)
    assert report.total.startup_failures == 2  # an error after the first frame is no failure
    for dim, key in (
        ("day", lambda p: p.day.isoformat()),
        ("platform", Play.platform),
        ("network", lambda p: p.network or "unknown"),
        ("rung", lambda p: str(p.rung) if p.rung else ""),
    ):
        groups = sorted({key(p) for p in PLAYS})
        rows = {r.key: r for r in getattr(report, f"by_{dim}")}
        assert sorted(rows) == groups, dim
        for group in groups:
            assert _figures(rows[group]) == _approx(
                _expected([p for p in PLAYS if key(p) == group])
            ), (dim, group)
    assert [r.key for r in report.by_rung] == ["240", "360", "540", "720", "1080", ""]

    # filters narrow every figure; the day range leaves out what lies outside it
    only = qoe_report(
        QoeFilters(first_day=DAY1, last_day=TODAY, platform="web", network="wifi", rung="720")
    )
    chosen = [p for p in PLAYS if p.platform() == "web" and p.network == "wifi" and p.rung == 720]
    assert _figures(only.total) == _approx(_expected(chosen))
    one_day = qoe_report(QoeFilters(first_day=DAY2, last_day=DAY2))
    assert _figures(one_day.total) == _approx(_expected([p for p in PLAYS if p.day == DAY2]))
    assert qoe_report(QoeFilters(first_day=TODAY, last_day=TODAY)).total.reports == 0


def test_a_threshold_raises_the_alert_once_and_recovers(lake, settings, mailoutbox, caplog):
    settings.ADMINS = [("Ops", "ops@example.com")]
    _write(PLAYS)
    now = datetime.combine(DAY2, time(12), tzinfo=UTC)
    window = qoe_window(now - timedelta(hours=4), now)
    p95 = window.ttff_p95_ms
    assert p95 is not None
    assert p95 == _expected([p for p in PLAYS if p.day == DAY2])["ttff_p95_ms"]
    slow = QoeThreshold.objects.create(
        figure="ttff_p95_ms", value=p95 - 1, window_minutes=240, min_reports=3
    )
    quiet = QoeThreshold.objects.create(
        figure="rebuffer_ratio", value=0.01, window_minutes=240, min_reports=1000
    )  # too few plays

    with caplog.at_level(logging.ERROR, logger="apps.analytics.qoe.alerts"):
        first = alerts.check_thresholds(now)
    assert (first.checked, first.raised, first.recovered) == (2, [slow.pk], [])
    row = AuditEvent.objects.get()
    assert (row.actor_id, row.action_name, row.target_id) == (None, "analytics.qoe_alert", slow.pk)
    assert row.data["value"] == p95
    assert "Time to first frame p95 1,800.0 ms over the last 240 min" in row.reason
    assert "QoE alert" in caplog.text
    assert len(mailoutbox) == 1
    assert "QoE alert" in mailoutbox[0].subject
    slow.refresh_from_db()
    quiet.refresh_from_db()
    assert (slow.alerting, slow.last_value, slow.last_reports) == (True, p95, window.reports)
    assert (quiet.alerting, quiet.last_reports) == (False, window.reports)

    scraped = Client().get("/metrics").content.decode()
    assert (
        f'swipeme_qoe_threshold_alerting{{direction="above",figure="ttff_p95_ms",'
        f'network_type="",platform="",threshold="{slow.pk}"}} 1.0'
    ) in scraped
    again = alerts.check_thresholds(now + timedelta(minutes=5))
    assert again.raised == []
    assert AuditEvent.objects.count() == 1
    assert len(mailoutbox) == 1

    QoeThreshold.objects.filter(pk=slow.pk).update(value=p95 + 1)  # staff raise the bar
    back = alerts.check_thresholds(now + timedelta(minutes=10))
    assert back.recovered == [slow.pk]
    assert AuditEvent.objects.filter(verb="qoe_recovered", target_id=slow.pk).count() == 1
    assert not QoeThreshold.objects.get(pk=slow.pk).alerting
    scraped = Client().get("/metrics").content.decode()
    assert (
        f'swipeme_qoe_threshold_alerting{{direction="above",figure="ttff_p95_ms",'
        f'network_type="",platform="",threshold="{slow.pk}"}} 0.0'
    ) in scraped


def test_the_page_for_staff_with_figures_charts_filters_and_the_alert_banner(lake):
    _write(PLAYS)
    QoeThreshold.objects.create(
        figure="ttff_p95_ms",
        value=900,
        alerting=True,
        alerting_since=datetime.now(tz=UTC),
        last_value=1800,
        last_reports=6,
        last_checked_at=datetime.now(tz=UTC),
    )
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))

    page = staff.get("/django-admin/analytics/qoethreshold/qoe/")
    assert page.status_code == 200
    html = page.content.decode()
    assert page.context["report"].total.reports == len(PLAYS)
    assert "QoE alert" in html
    assert "is above the threshold 900" in html
    assert html.count('<svg xmlns="http://www.w3.org/2000/svg" class="qoe-chart"') == 5
    assert "1,800 ms" in html
    assert "520 ms" in html
    assert "not reported" in html
    assert "android" in html
    assert "cellular" in html

    narrowed = staff.get(
        "/django-admin/analytics/qoethreshold/qoe/",
        {"first": DAY2.isoformat(), "last": DAY2.isoformat(), "platform": "android"},
    )
    assert narrowed.context["report"].total.reports == sum(
        1 for p in PLAYS if p.day == DAY2 and p.platform() == "android"
    )

    bad = staff.get(
        "/django-admin/analytics/qoethreshold/qoe/",
        {"first": DAY2.isoformat(), "last": DAY1.isoformat(), "network": "pigeon"},
    )
    assert bad.status_code == 200
    assert bad.context["report"] is None
    text = bad.content.decode()
    assert "The first day is after the last day." in text or "pigeon" in text
    assert "Select a valid choice. pigeon is not one of the available choices." in text


def test_the_page_is_refused_to_everyone_else(lake):
    url = "/django-admin/analytics/qoethreshold/qoe/"
    assert Client().get(url).status_code == 302  # to the console's sign-in
    member = Client()
    member.force_login(UserFactory())
    refused = member.get(url)
    assert refused.status_code == 302
    assert "/django-admin/login/" in refused["Location"]
    clerk = UserFactory(is_staff=True)  # staff without the view permission
    desk = Client()
    desk.force_login(clerk)
    assert desk.get(url).status_code == 403
    clerk.user_permissions.add(Permission.objects.get(codename="view_qoethreshold"))
    assert desk.get(url).status_code == 200


def test_threshold_edits_are_in_the_audit_trail():
    staff_user = UserFactory(is_staff=True, is_superuser=True)
    staff = Client()
    staff.force_login(staff_user)
    response = staff.post(
        "/django-admin/analytics/qoethreshold/add/",
        {
            "figure": "rebuffer_ratio",
            "direction": "above",
            "value": "1.5",
            "window_minutes": "60",
            "min_reports": "50",
            "enabled": "on",
        },
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    threshold = QoeThreshold.objects.get()
    row = AuditEvent.objects.get()
    assert (row.actor_id, row.action_name, row.target_id, row.data["changed"]["value"]) == (
        staff_user.pk,
        "analytics.qoethreshold_add",
        threshold.pk,
        1.5,
    )
    listing = staff.get("/django-admin/analytics/qoethreshold/")
    assert "not checked yet" in listing.content.decode()
    assert 'href="/django-admin/analytics/qoethreshold/qoe/"' in listing.content.decode()


def test_the_same_figures_through_a_clickhouse_server(lake, settings):
    """The engine's server path (CLICKHOUSE_URL; the local stand-in of ClickHouse's HTTP
    interface, tests/analytics/lake/clickhouse_standin.py) gives the same report."""
    from apps.analytics.lake import engine
    from tests.analytics.lake import clickhouse_standin

    _write(PLAYS)
    filters = QoeFilters(first_day=DAY1, last_day=TODAY)
    local = qoe_report(filters)
    proc, port = clickhouse_standin.start()
    try:
        settings.CLICKHOUSE_URL = f"http://default:secret@127.0.0.1:{port}/default"
        client = engine.server_client()
        try:
            client.command(engine.server_events_ddl())
        finally:
            client.close()
        assert engine.backend() == "clickhouse"
        served = qoe_report(filters)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert served == local


def test_an_unreadable_lake_changes_no_threshold_and_says_so(lake, settings, caplog):
    threshold = QoeThreshold.objects.create(figure="ttff_p95_ms", value=1, min_reports=1)
    settings.CLICKHOUSE_URL = "http://default:x@127.0.0.1:9/default"  # nothing listens
    with caplog.at_level(logging.ERROR, logger="apps.analytics.qoe.alerts"):
        result = alerts.check_thresholds()
    assert (result.checked, result.raised) == (1, [])
    assert "the event lake could not be read" in caplog.text
    threshold.refresh_from_db()
    assert (threshold.alerting, threshold.last_checked_at) == (False, None)
    assert not AuditEvent.objects.exists()
    staff = Client()
    staff.force_login(UserFactory(is_staff=True, is_superuser=True))
    page = staff.get("/django-admin/analytics/qoethreshold/qoe/")
    assert "The QoE figures could not be read from the event lake" in page.content.decode()
