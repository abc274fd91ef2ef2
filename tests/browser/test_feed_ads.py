"""An ad in the For You feed, in headless Chromium against the real server and worker: the
ad (a real upload processed by the pipeline, approved, its org funded) is served by
delivery's filler between organic posts; the card shows "Sponsored", the advertiser's name
and a call to action through our click redirect; on screen, its impression and 2-second
view reach the measurement API with the token and are recorded, the impression charged the
auction's price. The browser sends a phone's user agent (a HeadlessChrome agent is a bot to
invalid-traffic filtering: recorded, not counted)."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from rest_framework.test import APIClient

from apps.ads.delivery.tokens import read_token
from apps.ads.models import Ad, DeliverySettings
from apps.ads.models.measurement import AdEvent
from apps.media.models import MediaAsset
from tests.ads.core_helpers import live_ad, org_with
from tests.browser.conftest import DESKTOP, PageErrors, screenshot, seed_posts
from tests.factories import UserFactory
from tests.media.conftest import make_clip, upload_file, wait_for

# The module's arrangement uploads and transcodes five clips: on a busy machine that alone
# can take minutes (the first test pays for it).
pytestmark = pytest.mark.timeout(900)
PHONE_UA = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


@pytest.fixture(scope="module")
def arranged(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    tmp = tmp_path_factory.mktemp("feed-ads")
    creators = [UserFactory(username=f"organic_{n}") for n in range(4)]
    seed_posts(tmp, creators, count=4)
    org, admin = org_with(name="Acme Outdoors")
    client = APIClient()
    client.force_authenticate(admin)
    asset_id = upload_file(client, make_clip(tmp / "ad.mp4", seconds=5, video_source="testsrc"))
    wait_for(
        lambda: MediaAsset.objects.filter(pk=asset_id, state="ready").exists(),
        "the ad's video to be processed",
        seconds=240,
    )
    ad = live_ad(
        admin,
        org=org,
        asset=MediaAsset.objects.get(pk=asset_id),
        display_name="Acme Outdoors",
        cta="shop_now",
        landing_url="https://acme.example.com/tents",
        group_kw={"bid_strategy": "cpm", "bid_micros": 4_000_000},
    )
    # an ad after every two organic posts; the price is at least the reserve (1.00 CPM)
    DeliverySettings.objects.update_or_create(
        pk=1, defaults={"min_gap": 2, "max_gap": 2, "reserve_cpm_micros": 1_000_000}
    )
    return {"ad": ad}


def _to_the_ad(page: Page) -> int:
    """Open For You until a page carries the ad (delivery's eligible-ad snapshot lives a few
    seconds in the server process, and pacing admits by a draw), then make it active."""
    deadline = time.monotonic() + 90
    while True:
        page.goto("/")
        try:
            page.wait_for_function(
                "() => window.swipeme && window.swipeme.items.some(i => i.ad)", timeout=10_000
            )
            break
        except PlaywrightTimeoutError:
            if time.monotonic() > deadline:
                raise
    index = int(page.evaluate("() => window.swipeme.items.findIndex(i => i.ad)"))
    page.evaluate("(i) => window.swipeme.go(i - window.swipeme.active)", index)
    page.wait_for_function("(i) => window.swipeme.active === i", arg=index)
    return index


def test_the_ad_card_shows_and_its_impression_and_2s_view_are_recorded(
    arranged: dict[str, Any], logged_in_page: Callable[..., Page], page_errors: PageErrors
) -> None:
    ad: Ad = arranged["ad"]
    viewer = UserFactory()
    page = logged_in_page(viewer, user_agent=PHONE_UA)

    index = _to_the_ad(page)
    card = page.locator(f'.feed-item[data-index="{index}"]')
    page.wait_for_function(
        "(i) => { const m = window.swipeme.items[i].measurement;"
        " return m.log.some(([e]) => e === 'view_2s'); }",
        arg=index,
        timeout=20_000,
    )
    shot: Path = screenshot(page, "feed-ad-card")

    assert card.locator(".ad-sponsored").inner_text() == "Sponsored"
    assert card.locator(".ad-name").inner_text() == "Acme Outdoors"
    cta = card.locator(".ad-cta")
    assert cta.inner_text() == "Shop now"
    assert str(cta.get_attribute("href")).startswith("/ads/c/")
    assert card.locator(".rail").count() == 0
    log = page.evaluate(f"() => window.swipeme.items[{index}].measurement.log")
    assert [event for event, _ in log][:2] == ["impression", "view_2s"]
    assert all(status == 200 for _, status in log)
    token = page.evaluate(f"() => window.swipeme.items[{index}].ad.token")
    served = read_token(token)
    events = {e.kind: e for e in AdEvent.objects.filter(auction_id=int(served.auction_id))}
    assert events["impression"].invalid_reason == ""
    assert events["view_2s"].invalid_reason == ""
    assert events["impression"].user_id == viewer.pk
    assert events["impression"].price_micros == served.price_micros >= 1_000
    assert events["view_2s"].price_micros == 0
    assert served.ad_id == ad.pk
    assert shot.exists()
    assert page_errors.uncaught == []


def test_the_call_to_action_records_the_click(
    arranged: dict[str, Any], logged_in_page: Callable[..., Page]
) -> None:
    viewer = UserFactory()
    page = logged_in_page(viewer, user_agent=PHONE_UA, viewport=DESKTOP, touch=False)
    index = _to_the_ad(page)
    page.wait_for_function(
        "(i) => window.swipeme.items[i].measurement.log.some(([e]) => e === 'impression')",
        arg=index,
        timeout=20_000,
    )
    href = str(page.locator(f'.feed-item[data-index="{index}"] .ad-cta').get_attribute("href"))
    screenshot(page, "feed-ad-card-desktop")

    # the landing page itself is not reachable from here: follow only our redirect
    response = page.request.get(href, max_redirects=0)

    assert response.status == 302
    assert response.headers["location"].startswith("https://acme.example.com/tents?swpclid=")
    click = AdEvent.objects.get(kind="click", user_id=viewer.pk)
    assert click.invalid_reason == ""
    assert f"swpclid={click.click_id}" in response.headers["location"]
