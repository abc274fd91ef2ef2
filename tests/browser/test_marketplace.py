"""The creator marketplace in headless Chromium against the real server, both sides in
their own pages: the creator joins on a phone (/studio/marketplace: topics and a rate) and
sees the media kit; a brand member searches creators, shortlists and invites them in the
portal; the creator opens the offer from the deals inbox, accepts, and submits a draft post
(a refused fee first, said in words); the brand sees the draft and approves it; the creator
publishes and is paid; the brand's deal page shows the report and the label, and the public
post page reads "Paid partnership with @<brand>". Screenshots: the brand at desktop
1440x900, the creator on a phone (390x844) and the paid deal at desktop too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from apps.marketplace.models import Deal
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.marketplace.helpers import brand, creator, draft_post, earnings, group_of


def test_brand_and_creator_walk_a_deal_to_a_labelled_paid_post(
    logged_in_page: Callable[..., Page],
) -> None:
    org, admin = brand(name="Acme Foods")
    maker = creator()
    phone = logged_in_page(maker, viewport=PHONE, touch=True)
    phone.goto("/studio/marketplace")
    phone.get_by_label("Food").check()
    phone.get_by_label("Rate for one post (US$)").fill("400")
    phone.get_by_role("button", name="Join the marketplace").click()
    expect(phone.locator("[data-kit-rate]")).to_have_text("$400.00")
    expect(phone.locator('[data-kit="followers"]')).to_have_text("5000")
    screenshot(phone, "marketplace-c1-kit", full_page=True)

    page = logged_in_page(admin, viewport=DESKTOP, touch=False)
    page.goto(f"/ads/o/{org.pk}/creators?topic=food")
    row = page.locator(f'[data-creator="{maker.username}"]')
    expect(row).to_be_visible()
    screenshot(page, "marketplace-1-search")
    row.get_by_role("button", name="Shortlist").click()
    expect(
        page.locator(f'[data-creator="{maker.username}"]').get_by_role(
            "button", name="Shortlisted ✓"
        )
    ).to_be_visible()
    page.locator(f'[data-creator="{maker.username}"]').get_by_role("link", name="Invite").click()
    page.get_by_label("Campaign title").fill("Spring menu")
    page.get_by_label("Brief").fill("Cook our spring menu in one take.")
    page.get_by_label("Hashtags the caption must carry").fill("ad")
    page.get_by_label("We may run the post as an ad").check()
    page.get_by_label("Fee (USD)").fill("-3")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("[data-invite-error]")).to_contain_text("whole number of cents")
    page.get_by_label("Fee (USD)").fill("500")
    page.get_by_role("button", name="Send invitation").click()
    expect(page.locator("[data-deal-state]")).to_have_text("Invited")
    deal: Any = Deal.objects.get(org=org, creator=maker)

    # the creator's side, in the creator's pages
    phone.goto("/studio/marketplace/deals")
    phone.locator(f'[data-deal="{deal.pk}"]').get_by_role("link").click()
    expect(phone.locator("[data-deal-state]")).to_have_text("Invited")
    expect(phone.locator("[data-deliverables]")).to_contain_text("may also run your post as an ad")
    screenshot(phone, "marketplace-c2-offer", full_page=True)
    phone.get_by_role("button", name="Accept for $500.00").click()
    expect(phone.locator("[data-deal-state]")).to_have_text("Accepted")
    draft = draft_post(maker)
    phone.reload()
    phone.get_by_label("Your draft post").select_option(str(draft.pk))
    phone.get_by_role("button", name="Submit the draft").click()
    expect(phone.locator("[data-deal-state]")).to_have_text("Draft submitted")

    page.reload()
    expect(page.locator("[data-draft]")).to_contain_text("Spring menu #ad")
    screenshot(page, "marketplace-2-draft", full_page=True)
    page.get_by_role("button", name="Approve the draft").click()
    expect(page.locator("[data-deal-state]")).to_have_text("Approved")

    phone.reload()
    phone.get_by_role("button", name="Publish and get paid").click()
    expect(phone.locator("[data-paid]")).to_contain_text("$450.00")
    assert earnings(maker) == 450_000_000
    screenshot(phone, "marketplace-c3-paid", full_page=True)
    phone.set_viewport_size({"width": DESKTOP["width"], "height": DESKTOP["height"]})
    screenshot(phone, "marketplace-c4-paid-desktop", full_page=True)

    group_of(org)  # a campaign's ad group: the paid post may now run in it as an ad
    page.reload()
    expect(page.locator("[data-deal-state]")).to_have_text("Paid")
    expect(page.locator("[data-deal-report]")).to_be_visible()
    expect(page.locator("[data-spark-form]")).to_contain_text("Spring · Everyone")
    expect(page.locator("[data-draft]")).to_contain_text(
        "labelled “Paid partnership with @Acme Foods”"
    )
    screenshot(page, "marketplace-3-paid", full_page=True)

    deal.refresh_from_db()
    page.goto(f"/@{maker.username}/video/{deal.draft_post_id}")
    expect(page.locator("[data-branded]")).to_have_text("Paid partnership with @Acme Foods")
    screenshot(page, "marketplace-4-post")
