"""Subscriptions in headless Chromium: the creator offers a tier in the studio (a bad price
refused in words), a fan subscribes from the profile with the local provider's test card
(active only once the worker delivered the provider's webhook), then sees the subscriber-
only post, the creator sees the Subscriber badge, and the fan cancels on "Your
subscriptions" (access to the end of the month, in words). Screenshots at 390x844 and
1440x900 in /tmp/shots-h4/."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.comments import services as comment_services
from apps.content.models import Post
from apps.monetization.models import Subscription
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.content.factories import PostFactory
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h4")


def _adult(**kwargs: Any) -> Any:
    return UserFactory(date_of_birth=date(1990, 1, 1),
                       date_joined=timezone.now() - timedelta(days=60), **kwargs)


def _fits(page: Page) -> None:
    assert page.evaluate("() => document.documentElement.scrollWidth - innerWidth") <= 0


def test_offer_a_tier_subscribe_see_the_post_and_cancel(
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    creator, fan = _adult(username="potter"), _adult(username="kilnfan")
    paid = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS,
                       caption="glaze secrets")
    public = PostFactory(author=creator, caption="new kiln")

    studio = logged_in_page(creator, viewport=DESKTOP, touch=False)
    studio.goto("/studio/subscriptions")
    form = studio.locator("[data-new-tier]")
    form.get_by_label("Name").fill("Kiln club")
    form.get_by_label("Monthly price (US$)").fill("-5")
    form.get_by_role("button", name="Add tier").click()
    expect(studio.locator(".messages")).to_contain_text("Give the monthly price in dollars")
    form = studio.locator("[data-new-tier]")
    form.get_by_label("Name").fill("Kiln club")
    form.get_by_label("Monthly price (US$)").fill("4.99")
    form.get_by_label("Perks").fill("Monthly glaze recipes and a live firing.")
    form.get_by_role("button", name="Add tier").click()
    expect(studio.locator(".messages")).to_contain_text("Your tier is on offer.")
    expect(studio.locator("[data-tier]")).to_have_count(1)
    expect(studio.locator("[data-tier]")).to_contain_text("$4.99/month")
    _fits(studio)
    # the perks box spans the form (it was half as wide as the fields above it)
    perks = studio.locator("[data-new-tier] textarea").bounding_box()
    name = studio.locator("[data-new-tier] input[name=name]").bounding_box()
    price = studio.locator("[data-new-tier] input[name=price]").bounding_box()
    assert perks is not None
    assert name is not None
    assert price is not None
    assert perks["width"] >= price["x"] + price["width"] - name["x"] - 2
    screenshot(studio, "studio-tiers-1440", copy_to=SHOTS, full_page=True)

    page = logged_in_page(fan, viewport=PHONE)
    page.goto("/@potter")
    expect(page.locator(f'a[href$="/video/{paid.pk}"]')).to_have_count(0)
    page.locator("[data-subscribe]").click()
    expect(page.get_by_role("heading", name="Subscribe to")).to_be_visible()
    expect(page.locator(".tier-choice")).to_contain_text("Kiln club")
    page.get_by_label("Card").select_option("pm_card_ok")
    _fits(page)
    screenshot(page, "subscribe-390", copy_to=SHOTS, full_page=True)
    page.get_by_role("button", name="Subscribe").click()
    expect(page.locator(".messages")).to_contain_text("starts as soon as the payment")
    row = page.locator("[data-subscription]").first
    deadline = time.monotonic() + 60
    while "Renews on" not in (row.locator("[data-status-text]").text_content() or ""):
        assert time.monotonic() < deadline, "the provider's webhook never activated it"
        time.sleep(0.5)
        page.reload()
        row = page.locator("[data-subscription]").first
    assert Subscription.objects.get(subscriber=fan).status == "active"
    _fits(page)
    screenshot(page, "subscriptions-390", copy_to=SHOTS, full_page=True)

    page.goto("/@potter")
    expect(page.locator("[data-subscribed]")).to_be_visible()
    expect(page.locator(f'a[href$="/video/{paid.pk}"]')).to_have_count(1)
    expect(page.locator(f'a[href$="/video/{paid.pk}"] [data-subscribers-only]')).to_have_text(
        "Subscribers")
    screenshot(page, "profile-subscribed-390", copy_to=SHOTS)

    studio.goto("/@kilnfan")
    expect(studio.locator("[data-subscriber-badge]")).to_have_text("Subscriber")
    screenshot(studio, "fan-profile-badge-1440", copy_to=SHOTS)
    # the fan's comment on the creator's public post wears the badge; a stranger's does not
    comment_services.comment_create(author=fan, post=public, text="Love the new kiln")
    comment_services.comment_create(author=_adult(), post=public, text="Nice")
    studio.goto(f"/@potter/video/{public.pk}")
    fan_comment = studio.locator("#comments .comment", has_text="Love the new kiln")
    expect(fan_comment.locator("[data-subscriber-badge]")).to_have_text("Subscriber")
    expect(studio.locator("#comments .comment", has_text="Nice")
           .locator("[data-subscriber-badge]")).to_have_count(0)
    screenshot(studio, "comment-badge-1440", copy_to=SHOTS)

    desk = logged_in_page(fan, viewport=DESKTOP, touch=False)
    desk.goto("/subscriptions")
    desk.get_by_role("button", name="Cancel").click()
    expect(desk.locator("[data-status-text]").first).to_contain_text(
        "Cancelled: your access ends on")
    expect(desk.get_by_role("button", name="Resume")).to_be_visible()
    _fits(desk)
    screenshot(desk, "subscriptions-cancelled-1440", copy_to=SHOTS, full_page=True)
    assert page_errors.uncaught == []
