"""The whole ads path in headless Chromium on the real server and worker: an advertiser
creates a campaign, an ad group and an ad in the portal (the creative through the tus
upload and the media pipeline), ad-ops approves it in the Django admin's review queue, the
advertiser starts the campaign, a viewer's For You feed delivers it between organic posts
(the "Sponsored" card), the card's impression (≥ 50 % on screen for 1 s) reaches the
measurement API, and the portal's report shows the impression and its spend.

Arranged outside the browser (each is its own tested flow): the prepaid balance is credited
straight in the ledger (the top-up by card is tests/adsportal/browser/test_portal.py's), the
ad load is set to one ad after every organic post (the staff setting, DeliverySettings), and
the daily report table is rolled up by calling the rollup the beat task runs."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from apps.ads.measurement.rollup import rollup_days
from apps.ads.models import Ad
from apps.ads.models.delivery import DeliverySettings
from apps.ads.models.measurement import AdEvent
from apps.ads.services import orgs
from tests.ads.core_helpers import fund
from tests.browser.conftest import PHONE, screenshot, seed_posts
from tests.factories import UserFactory
from tests.media.conftest import make_clip

from .test_portal import WIDE, create_campaign, fill_ad, shot, upload_creative, wait_until

PHONE_AGENT = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/131.0.0.0 Mobile Safari/537.36"
)


@pytest.mark.timeout(1500)
def test_create_upload_approve_deliver_and_report(
    tmp_path: Path, logged_in_page: Any, page_errors: Any, landing_site: str
) -> None:
    # four creators: For You shows one post per author on a page (its diversity rule), and
    # an ad slot sits between two posts of a page
    creators = [UserFactory(username=f"organic_creator{n}") for n in range(4)]
    seed_posts(tmp_path, creators, count=4, seconds=2.0)
    DeliverySettings.objects.update_or_create(
        pk=1, defaults={"min_gap": 1, "max_gap": 1, "ads_enabled": True}
    )

    # the advertiser builds the campaign in the portal
    owner = UserFactory(username="brand_owner")
    org = orgs.org_signup(user=owner, name="Acme Shoes", country="US", currency="USD")
    fund(org, 50_000_000)
    page = logged_in_page(owner, viewport=WIDE, touch=False)
    campaign = create_campaign(page, org, "Launch")
    page.fill("#id_name", "Everyone")
    page.fill("#id_bid", "20")  # CPM
    page.get_by_role("button", name="Create ad group").click()
    upload_creative(
        page, make_clip(tmp_path / "creative.mp4", seconds=4.0, video_source="rgbtestsrc")
    )
    fill_ad(page, name="Launch ad", display="Acme Shoes", landing=f"{landing_site}/launch")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("[data-review-state]")).to_have_text("In review")
    ad = Ad.objects.get(name="Launch ad")

    # ad-ops approves it in the admin's review queue
    staff = UserFactory(username="ad_ops", is_staff=True, is_superuser=True)
    admin_page = logged_in_page(staff, viewport=WIDE, touch=False)
    admin_page.goto("/django-admin/ads/ad/?review=pending")
    admin_page.check(f'input[name="_selected_action"][value="{ad.pk}"]')
    admin_page.select_option('select[name="action"]', "approve_ads")
    admin_page.get_by_role("button", name="Go").click()
    expect(admin_page.locator(".messagelist")).to_contain_text("Approved 1 ad")
    screenshot(admin_page, "adsportal-e2e-admin-approved", full_page=True)
    ad.refresh_from_db()
    assert ad.review_state == "approved"

    # the advertiser sees the approval and starts the campaign
    page.goto(f"/ads/o/{org.pk}/ads/{ad.pk}")
    expect(page.locator("[data-review-state]")).to_have_text("Approved")
    shot(page, "e2e-ad-approved")
    page.goto(f"/ads/o/{org.pk}/campaigns/{campaign.pk}")
    page.get_by_role("button", name="Start campaign").click()
    expect(page.locator("[data-campaign-status]")).to_have_text("Active")

    # a viewer's For You delivers it (the server's eligible-ad snapshot lives a few seconds)
    viewer = UserFactory(username="feed_viewer", country="US")
    # a phone's agent: headless Chromium's own names it "HeadlessChrome", which invalid-traffic
    # filtering rightly takes for a bot (its impressions are kept but never billed or reported)
    feed = logged_in_page(viewer, viewport=PHONE, user_agent=PHONE_AGENT)
    card = feed.locator(f'.feed-ad[data-ad-id="{ad.pk}"]')
    # pacing admits a campaign into an auction with a probability near the day's curve:
    # a page may come without the ad; a new page is a new auction
    deadline = time.monotonic() + 180
    seen: list[list[str]] = []
    while True:
        feed.goto("/")
        try:
            card.first.wait_for(state="attached", timeout=8_000)
            break
        except PlaywrightTimeoutError:
            seen.append(
                feed.evaluate(
                    "() => [...document.querySelectorAll('[data-index]')]"
                    ".map((n) => n.classList.contains('feed-ad') ? 'ad' : 'post')"
                )
            )
            if time.monotonic() > deadline:
                screenshot(feed, "adsportal-e2e-feed-without-ad-phone")
                raise AssertionError(f"no ad in For You; the pages showed {seen}") from None
    expect(card.first.locator(".ad-sponsored")).to_have_text("Sponsored")
    expect(card.first.locator(".ad-name")).to_have_text("Acme Shoes")
    expect(card.first.locator(".ad-cta")).to_have_text("Shop now")
    # swipe to it: one item per key press, until the ad is the active item
    for _ in range(6):
        box = card.first.bounding_box()
        if box and 0 <= box["y"] < 100:
            break
        feed.keyboard.press("ArrowDown")
        feed.wait_for_timeout(700)
    feed.wait_for_timeout(1500)  # ≥ 1 s at least half on screen: the impression
    screenshot(feed, "adsportal-e2e-feed-ad-phone")
    wait_until(
        lambda: AdEvent.objects.filter(ad_id=ad.pk, kind="impression", invalid_reason="").exists(),
        "the ad's impression to be recorded",
        seconds=30,
    )

    # the report shows it
    rollup_days()
    page.goto(f"/ads/o/{org.pk}/reports?by=ad")
    expect(page.locator('[data-total="impressions"]')).to_have_text("1")
    row = page.locator("[data-report-rows] tbody tr").first
    expect(row).to_contain_text("Launch ad")
    shot(page, "e2e-report")
    assert not page_errors.uncaught, page_errors.uncaught
