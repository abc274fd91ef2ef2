"""The advertiser portal in headless Chromium against the real server and worker: sign up an
organisation, fund it with the local provider's test card (credited by the worker's
webhook), add a member, create a campaign and an ad group (the audience estimate updates as
the targeting changes), upload a creative through the tus upload and see it processed in the
preview, submit it and see its review status; a rejected ad's reasons, fixed and
resubmitted. A screenshot of every page goes to var/artifacts/screenshots/adsportal-*."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apps.ads.models import Ad, AdGroup, AdvertiserOrg, Campaign, Membership
from apps.ads.models.funding import Topup
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import UserFactory
from tests.media.conftest import make_clip

WIDE = {"width": 1440, "height": 1000}
# a whole journey with a transcode on two shared cores
pytestmark = pytest.mark.timeout(900)


def shot(page: Page, name: str) -> None:
    screenshot(page, f"adsportal-{name}", full_page=True)


def wait_until(check: Any, what: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


def create_campaign(page: Page, org: AdvertiserOrg, name: str) -> Campaign:
    page.goto(f"/ads/o/{org.pk}/")
    page.get_by_role("link", name="New campaign", exact=True).click()
    page.fill("#id_name", name)
    page.select_option("#id_objective", "video_views")
    page.check("#id_budget_kind_0")  # daily
    page.fill("#id_budget", "20")
    shot(page, "campaign-form")
    page.get_by_role("button", name="Create campaign").click()
    expect(page.get_by_role("heading", name="New ad group")).to_be_visible()
    return Campaign.objects.get(org=org, name=name)


def create_group(page: Page, campaign: Campaign, name: str) -> AdGroup:
    page.fill("#id_name", name)
    page.fill("#id_bid", "5")
    page.fill("#id_frequency_cap_day", "3")
    estimate = page.locator("[data-estimate]")
    page.select_option("#id_countries", ["US"])
    expect(estimate).to_have_attribute("data-state", "ok")
    first = page.locator("[data-estimate-value]").inner_text()
    page.check('input[name="age_bands"][value="25-34"]')
    page.check('input[name="interests"][value="food"]')
    expect(page.locator("[data-estimate-value]")).to_contain_text("people")
    assert first  # the estimate was shown before and after the change
    page.fill("#id_regions", "nowhere")  # a bad region: the estimate says why
    page.locator("#id_regions").dispatch_event("input")
    expect(estimate).to_have_attribute("data-state", "error")
    expect(page.locator("[data-estimate-note]")).to_contain_text("Not a region code")
    page.fill("#id_regions", "")
    page.locator("#id_regions").dispatch_event("input")
    expect(estimate).to_have_attribute("data-state", "ok")
    shot(page, "adgroup-form")
    page.get_by_role("button", name="Create ad group").click()
    expect(page.get_by_role("heading", name="New ad")).to_be_visible()
    return AdGroup.objects.get(campaign=campaign, name=name)


def upload_creative(page: Page, clip: Path) -> None:
    page.set_input_files("[data-creative-file]", str(clip))
    expect(page.locator("[data-creative-status]")).to_contain_text("processed", timeout=180_000)
    video = page.locator("[data-ad-preview] video")
    expect(video).to_have_attribute("src", re.compile(r"/api/v1/media/play/"))
    page.wait_for_function(
        "() => { const v = document.querySelector('[data-ad-preview] video');"
        " return v && v.readyState >= 2 && v.videoWidth > 0; }",
        timeout=30_000,
    )


def fill_ad(page: Page, *, name: str, display: str, landing: str) -> None:
    page.fill("#id_name", name)
    page.fill("#id_display_name", display)
    page.select_option("#id_cta", "shop_now")
    page.fill("#id_landing_url", landing)
    preview = page.locator("[data-ad-preview]")
    expect(preview.locator("[data-preview-name]")).to_have_text(display)
    expect(preview.locator("[data-preview-cta]")).to_have_text("Shop now")
    expect(preview).to_contain_text("Sponsored")


def test_sign_up_fund_build_a_campaign_upload_a_creative_and_see_it_in_review(
    tmp_path: Path, logged_in_page: Any, page_errors: Any, landing_site: str
) -> None:
    owner = UserFactory(username="shoe_boss")
    colleague = UserFactory(username="number_cruncher")
    page = logged_in_page(owner, viewport=WIDE, touch=False)

    # sign up
    page.goto("/ads/")
    expect(page.locator("[data-no-orgs]")).to_be_visible()
    shot(page, "home-empty")
    page.get_by_role("link", name="Create an advertiser account").click()
    page.fill("#id_name", "Acme Shoes")
    page.select_option("#id_country", "US")
    page.select_option("#id_currency", "USD")
    page.select_option("#id_timezone", "America/New_York")
    shot(page, "signup")
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_role("heading", name="Campaigns")).to_be_visible()
    org = AdvertiserOrg.objects.get(name="Acme Shoes")
    assert Membership.objects.get(org=org, user=owner).role == "admin"
    shot(page, "org-empty")

    # fund with the local provider's card; the worker delivers the webhook that credits it
    page.get_by_role("link", name="Billing").click()
    page.fill("#id_amount", "50")
    page.select_option("#id_payment_method", "pm_card_ok")
    page.get_by_role("button", name="Pay").click()
    wait_until(
        lambda: Topup.objects.filter(org=org, status="succeeded").exists(),
        "the top-up to be credited",
        seconds=90,
    )
    page.reload()
    expect(page.locator("[data-balance]")).to_have_text("$50.00")
    shot(page, "billing")

    # a bad amount is refused beside the field
    page.fill("#id_amount", "-3")
    page.get_by_role("button", name="Pay").click()
    expect(page.locator("[data-fund-form] .field-errors")).to_contain_text("above zero")

    # add a member as analyst
    page.get_by_role("link", name="Members").click()
    page.fill("#id_identifier", "number_cruncher")
    page.select_option("#id_role", "analyst")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.locator('[data-member="number_cruncher"]')).to_be_visible()
    shot(page, "members")

    # campaign → ad group → ad
    campaign = create_campaign(page, org, "Spring sale")
    group = create_group(page, campaign, "Food lovers 25-34")
    assert group.age_bands == ["25-34"]
    assert group.interests == ["food"]
    upload_creative(page, make_clip(tmp_path / "ad.mp4", seconds=3.0))
    fill_ad(page, name="Spring ad 1", display="Acme Shoes", landing=f"{landing_site}/spring")
    shot(page, "ad-form")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("[data-review-state]")).to_have_text("In review")
    ad = Ad.objects.get(ad_group=group, name="Spring ad 1")
    assert ad.review_state == "pending"
    assert ad.landing_final_url == f"{landing_site}/spring"
    expect(page.locator("[data-ad-preview]")).to_contain_text("Sponsored")
    shot(page, "ad-in-review")

    # the group and campaign pages list what was made
    page.goto(f"/ads/o/{org.pk}/adgroups/{group.pk}")
    expect(page.locator(f'[data-ad="{ad.pk}"] [data-review-state]')).to_have_text("In review")
    shot(page, "adgroup")
    page.goto(f"/ads/o/{org.pk}/campaigns/{campaign.pk}")
    expect(page.locator("[data-delivery]")).to_have_count(0)  # a draft: its status says it
    page.get_by_role("button", name="Start campaign").click()
    # started, it is told in words why it does not serve yet
    expect(page.locator('[data-delivery="not_serving"]')).to_contain_text(
        "Not serving. Its ads are waiting for review")
    shot(page, "campaign")
    # the campaign list flags it too, where an advertiser with many campaigns looks first
    page.goto(f"/ads/o/{org.pk}/")
    flag = page.locator(f'tr:has(a[href$="/campaigns/{campaign.pk}"]) [data-delivery-flag]')
    expect(flag).to_have_text("Not serving")
    expect(flag).to_have_attribute("title", re.compile("open it to see why"))
    shot(page, "campaigns-flagged")

    # audiences: a CSV of addresses, hashed on the server
    page.goto(f"/ads/o/{org.pk}/audiences")
    csv = tmp_path / "list.csv"
    csv.write_text("email\nshoe_boss@example.com\nnumber_cruncher@example.com\n")
    page.fill("#id_name", "Newsletter")
    page.set_input_files("#id_file", str(csv))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator("[data-audiences]")).to_contain_text("Newsletter")
    shot(page, "audiences")

    # reports (nothing served yet) and the CSV
    page.goto(f"/ads/o/{org.pk}/reports")
    expect(page.locator("svg.ads-chart")).to_have_count(4)
    shot(page, "reports-empty")
    with page.expect_download() as download:
        page.locator("[data-csv]").click()
    assert download.value.suggested_filename.endswith(".csv")

    # the analyst reads and is refused writes in words
    analyst_page = logged_in_page(colleague, viewport=PHONE)
    analyst_page.goto(f"/ads/o/{org.pk}/campaigns/{campaign.pk}")
    expect(analyst_page.get_by_role("link", name="Edit")).to_have_count(0)
    shot(analyst_page, "analyst-campaign-phone")
    analyst_page.goto(f"/ads/o/{org.pk}/campaigns/new")
    expect(analyst_page.get_by_role("alert")).to_contain_text("cannot create or change")
    shot(analyst_page, "analyst-refused-phone")
    assert not page_errors.uncaught, page_errors.uncaught
    # the only failed requests are the refusals this test asked for, answered in words
    expected = re.compile(
        r"^(400 .*/estimate\?.*regions=nowhere|400 .*/billing"
        r"|403 .*/campaigns/new)"
    )
    assert all(expected.match(r) for r in page_errors.failed_requests), page_errors.failed_requests


def test_a_rejected_ad_shows_its_reasons_and_is_fixed_and_resubmitted(
    tmp_path: Path, logged_in_page: Any, page_errors: Any, landing_site: str
) -> None:
    from apps.ads.services import orgs

    owner = UserFactory(username="fixer")
    org = orgs.org_signup(user=owner, name="Fix Co", country="US", currency="USD")
    page = logged_in_page(owner, viewport=DESKTOP, touch=False)
    campaign = create_campaign(page, org, "Autumn")
    create_group(page, campaign, "Everyone")
    upload_creative(page, make_clip(tmp_path / "ad2.mp4", seconds=2.5, video_source="smptehdbars"))
    # the landing page answers 404: the automated check rejects the ad with the reason
    fill_ad(page, name="Autumn ad", display="Fix Co", landing=f"{landing_site}/gone")
    page.get_by_role("button", name="Submit for review").click()
    expect(page.locator("[data-review-state]")).to_have_text("Rejected")
    reasons = page.locator("[data-reasons]")
    expect(reasons).to_be_visible()
    assert reasons.inner_text().strip()
    shot(page, "ad-rejected")
    page.get_by_role("link", name="Fix and resubmit").click()
    expect(page.locator("[data-rejection]")).to_be_visible()
    shot(page, "ad-fix-form")
    page.fill("#id_landing_url", f"{landing_site}/autumn")
    page.get_by_role("button", name="Save and submit for review").click()
    expect(page.locator("[data-review-state]")).to_have_text("In review")
    ad = Ad.objects.get(name="Autumn ad")
    assert ad.review_state == "pending"
    assert not page_errors.uncaught, page_errors.uncaught
