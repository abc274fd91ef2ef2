"""A deal's reach is the number of distinct people shown the post since it went live, read
from the event lake (an account, else a device, else a session), not its impressions; when
the lake cannot be read the report says so instead of showing a wrong figure."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from apps.analytics.reach import post_reach
from apps.marketplace import selectors
from tests.experiments.lake_data import lake_event, write_events
from tests.marketplace.test_spark import published_deal

pytestmark = pytest.mark.django_db


@pytest.fixture
def lake(settings: Any, tmp_path: Path) -> Path:
    settings.LAKE_ROOT = tmp_path / "lake"
    settings.LAKE_S3_BUCKET = ""
    settings.CLICKHOUSE_URL = ""
    settings.SWIPEME_ADS_LANDING_CHECK = False
    return tmp_path / "lake"


def test_reach_counts_people_not_impressions(lake: Path) -> None:
    deal, admin = published_deal(may_run_as_ad=False)
    assert deal.draft_post is not None
    assert deal.published_at is not None
    post = deal.draft_post.pk
    at = deal.published_at  # the moment it went live (the report reads up to now)
    shown = [
        # one account shown it three times, on two devices
        lake_event("impression", at, user_id=7, session_id="a", post_id=post, device_id="d1"),
        lake_event("impression", at, user_id=7, session_id="b", post_id=post, device_id="d2"),
        lake_event("impression", at, user_id=7, session_id="b", post_id=post),
        # a signed-out device, in two sessions
        lake_event("impression", at, session_id="c", post_id=post, device_id="d3"),
        lake_event("impression", at, session_id="d", post_id=post, device_id="d3"),
        # a signed-out session with no device id
        lake_event("impression", at, session_id="e", post_id=post),
        # not this post's reach: before publication, another post, a play (not shown)
        lake_event("impression", deal.published_at - timedelta(hours=2), user_id=8,
                   session_id="f", post_id=post),
        lake_event("impression", at, user_id=9, session_id="g", post_id=post + 1),
        lake_event("play_start", at, user_id=10, session_id="h", post_id=post),
    ]
    write_events(shown)

    assert post_reach([post, post + 5], since=deal.published_at,
                      until=timezone.now() + timedelta(hours=1)) == {post: 3, post + 5: 0}
    report = selectors.deal_report(admin, deal.pk)
    assert report["reach"] == 3
    page = Client()
    page.force_login(admin)
    html = page.get(f"/ads/o/{deal.org_id}/deals/{deal.pk}").content.decode()
    assert "<strong>3</strong> people reached" in html


def test_a_lake_that_cannot_be_read_says_so(lake: Path, settings: Any) -> None:
    deal, admin = published_deal(may_run_as_ad=False)
    settings.CLICKHOUSE_URL = "http://127.0.0.1:9"  # nothing listens there
    assert selectors.deal_report(admin, deal.pk)["reach"] is None
    page = Client()
    page.force_login(admin)
    html = page.get(f"/ads/o/{deal.org_id}/deals/{deal.pk}").content.decode()
    assert "reach not available right now" in html
