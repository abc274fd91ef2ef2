"""The inbox in the real browser (issue 14): a like by another user reaches the creator's
inbox through the hook, the task outbox and the `notifications` worker, and shows after a
reload with its unread badge on the tab bar's Inbox (phone) and the header's bell
(desktop); "Mark all read" clears the badge; a follow request is accepted from its row.
Screenshots at 390x844 and 1440x900 (var/artifacts/screenshots/, /tmp/shots-h7/)."""

from __future__ import annotations

import re
import shutil
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from apps.engagement import services as engagement_services
from apps.moderation.services import enforce
from apps.notifications.models import Notification
from apps.social import services as social_services
from apps.social.models import Follow
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.browser.test_layout_and_contrast import _assert_accessible
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h7")


def _shot(page: Page, name: str) -> None:
    path = screenshot(page, name, full_page=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def _wait_for(recipient_id: int, count: int) -> None:
    deadline = time.monotonic() + 30
    while Notification.objects.filter(recipient_id=recipient_id).count() < count:
        assert time.monotonic() < deadline, "the notifications worker never told"
        time.sleep(0.2)


def test_a_like_shows_after_reload_and_mark_all_read_clears_the_badge(
        logged_in_page, page_errors: PageErrors) -> None:  # type: ignore[no-untyped-def]
    creator = UserFactory(username="inboxcreator")
    post = PublishedPostFactory(author=creator)
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = logged_in_page(creator, viewport=viewport, touch=viewport == PHONE,
                              bypass_csp=True)  # axe-core is injected inline
        page.goto("/inbox")
        expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
        before = Notification.objects.filter(recipient=creator).count()

        fan = UserFactory(username=f"maya{size}")
        engagement_services.like_create(user=fan, post=post)
        _wait_for(creator.pk, before + (1 if before == 0 else 0))
        # the second like joins the first one's group
        if before:
            deadline = time.monotonic() + 30
            while Notification.objects.get(recipient=creator).actor_count < 2:
                assert time.monotonic() < deadline
                time.sleep(0.2)
        page.reload()
        row = page.locator('[data-type="post_liked"]')
        expect(row).to_have_count(1)
        expected = ("mayaphone liked your video" if size == "phone"
                    else "mayadesktop and mayaphone liked your video")
        expect(row.locator(".inbox-title")).to_have_text(expected)
        expect(row.locator(".pill.new")).to_be_visible()
        # "Mark read" sits on the time's line (it wrapped under it with room to spare)
        when = row.locator("time").bounding_box()
        mark = row.get_by_role("button", name=re.compile("^Mark read")).bounding_box()
        assert when is not None
        assert mark is not None
        assert abs((when["y"] + when["height"] / 2) - (mark["y"] + mark["height"] / 2)) < 6
        badge_host = (page.locator("nav.tabbar [data-inbox-tab]") if size == "phone"
                      else page.locator("[data-notices-link]"))
        expect(badge_host.locator("[data-unread-count]")).to_have_text("1")
        if size == "phone":  # the tab says it in words too
            expect(page.locator("nav.tabbar").get_by_role(
                "link", name=re.compile(r"^Inbox\s*, 1 unread$"))).to_be_visible()
        else:
            expect(badge_host).to_have_attribute("aria-label", "Inbox, 1 unread")
        if size == "phone":
            expect(page.locator("nav.tabbar [data-inbox-tab]")).to_have_attribute(
                "aria-current", "page")
        _assert_accessible(page, f"inbox {size}")
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"the inbox scrolls sideways at {size}"
        _shot(page, f"inbox-unread-{size}")

        page.get_by_role("button", name="Mark all read").click()
        page.wait_for_url(re.compile(r"/inbox"))
        expect(badge_host.locator("[data-unread-count]")).to_have_count(0)
        expect(page.get_by_role("link", name="Inbox", exact=True).first).to_be_visible()
        expect(row.locator(".pill.new")).to_have_count(0)
        _shot(page, f"inbox-read-{size}")
    assert page_errors.uncaught == []
    assert page_errors.failed_requests == []


def test_a_follow_request_is_accepted_from_the_inbox_and_a_notice_links_to_appeal(
        logged_in_page, page_errors: PageErrors) -> None:  # type: ignore[no-untyped-def]
    private = UserFactory(username="inboxprivate", is_private=True)
    asker = UserFactory(username="inboxasker")
    social_services.follow_create(follower=asker, followee=private)
    removed = PublishedPostFactory(author=private)
    enforce(action="remove", target_type="post", target_id=removed.pk, policy="spam_scam",
            reason="Sells fake tickets.")
    _wait_for(private.pk, 2)
    page = logged_in_page(private, viewport=PHONE)
    page.goto("/inbox")
    notice = page.locator('[data-type="moderation_removal"]')
    expect(notice.locator(".inbox-title")).to_have_text("Your video was removed")
    expect(notice.get_by_role("link", name="The rule")).to_have_attribute(
        "href", "/pages/community-guidelines/spam_scam/")
    expect(notice.get_by_role("link", name="Appeal")).to_have_attribute(
        "href", re.compile(r"^/moderation/appeal/"))
    # the five tabs fit a phone's width (Followers was cut off behind a scroll)
    followers = page.locator(".inbox-tabs").get_by_role("link", name="Followers")
    box = followers.bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= PHONE["width"]
    followers.click()
    page.wait_for_url(re.compile(r"tab=followers"))
    request = page.locator('[data-type="follow_request"]')
    expect(request.locator(".inbox-title")).to_have_text("inboxasker asked to follow you")
    # Accept and Decline side by side (they wrapped under each other)
    accept = request.get_by_role("button", name="Accept").bounding_box()
    decline = request.get_by_role("button", name="Decline").bounding_box()
    assert accept is not None
    assert decline is not None
    assert abs(accept["y"] - decline["y"]) < 4
    _shot(page, "inbox-followers-tab-phone")
    request.get_by_role("button", name="Accept").click()
    expect(page.get_by_text("Follow request accepted.")).to_be_visible()
    expect(request.get_by_text("Answered")).to_be_visible()
    assert Follow.objects.filter(follower=asker, followee=private).exists()
    assert page_errors.uncaught == []
    assert page_errors.failed_requests == []
