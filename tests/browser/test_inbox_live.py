"""The live bell in the real browser (issue 14, "a like by another user appears live without
reload"): another user likes the viewer's video (the hook, the task outbox, the real
`notifications` worker, the after-commit announcement over the Redis channel layer, the
websocket) and, without a reload, the tab bar's Inbox badge (phone) or the header bell
(desktop) counts it, a screen reader is told, and on /inbox the notification is on top
(a grown group replaces its row). Resume after a dropped connection: tests/notifications/
test_live.py.
Screenshots at 390x844 and 1440x900 (/tmp/shots-h9/)."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from playwright.sync_api import Page, expect

from apps.engagement import services as engagement_services
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h9")


def _shot(page: Page, name: str) -> None:
    path = screenshot(page, name, full_page=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(path, SHOTS / path.name)


def _connected(page: Page) -> None:
    """The live module said where it is up to (the end of its first replay)."""
    page.wait_for_function(
        "() => sessionStorage.getItem('swipeme:notifications:seq') !== null", timeout=15000)


def test_a_like_appears_live_on_the_badge_and_the_inbox(
        logged_in_page, page_errors: PageErrors) -> None:  # type: ignore[no-untyped-def]
    for size, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        creator = UserFactory(username=f"livecreator{size}")
        posts = [PublishedPostFactory(author=creator) for _ in range(2)]
        page = logged_in_page(creator, viewport=viewport, touch=viewport == PHONE)
        page_errors.watch(page)
        badge_link = page.locator("[data-inbox-tab]" if size == "phone"
                                  else "[data-notices-link]")

        # on another page: the badge and the announcement
        page.goto(f"/@{creator.username}")
        _connected(page)
        expect(badge_link.locator("[data-unread-count]")).to_have_count(0)
        engagement_services.like_create(user=UserFactory(username=f"maya{size}"),
                                        post=posts[0])
        expect(badge_link.locator("[data-unread-count]")).to_have_text("1", timeout=30000)
        if size == "phone":
            expect(badge_link).to_have_accessible_name(re.compile(r"^Inbox\s*, 1 unread$"))
        else:
            expect(badge_link).to_have_attribute("aria-label", "Inbox, 1 unread")
        expect(page.locator("[data-live-announcer]")).to_have_text(
            f"New notification: maya{size} liked your video", timeout=5000)
        _shot(page, f"inbox-live-{size}-badge")

        # on /inbox: the next one is put on top, live
        page.goto("/inbox")
        _connected(page)
        rows = page.locator(".inbox-list > li")
        expect(rows).to_have_count(1)
        engagement_services.like_create(user=UserFactory(username=f"noor{size}"),
                                        post=posts[1])
        expect(rows).to_have_count(2, timeout=30000)
        expect(rows.first).to_contain_text(f"noor{size} liked your video")
        expect(rows.first.get_by_role("button", name="Mark read")).to_be_visible()
        expect(badge_link.locator("[data-unread-count]")).to_have_text("2")
        _shot(page, f"inbox-live-{size}-inbox")

        # a group that grows replaces its row (the same id), not a second one
        engagement_services.like_create(user=UserFactory(username=f"sam{size}"),
                                        post=posts[1])
        expect(rows.first).to_contain_text(f"sam{size} and noor{size}", timeout=30000)
        expect(rows).to_have_count(2)
        assert page_errors.uncaught == [], page_errors.uncaught
        assert page_errors.console == [], page_errors.console
        page.context.close()


def test_a_direct_message_moves_the_messages_badge_on_any_page(
        logged_in_page, page_errors: PageErrors) -> None:  # type: ignore[no-untyped-def]
    """Away from the messages pages (no ws/messages/ socket), a direct message is told as a
    notification; the notifications socket then refreshes the Messages link's badge."""
    from apps.messaging import services as messaging_services
    from tests.browser.messaging_helpers import friends, in_thread, send

    reader, writer = UserFactory(username="dmreader"), UserFactory(username="dmwriter")
    friends(reader, writer)
    conversation = in_thread(lambda: messaging_services.start_direct(writer, reader))
    page = logged_in_page(reader, viewport=DESKTOP)
    page_errors.watch(page)
    page.goto(f"/@{writer.username}")
    _connected(page)
    link = page.locator("header [data-messages-link]")
    expect(link.locator("[data-messages-unread]")).to_have_count(0)
    in_thread(lambda: send(writer, conversation, "are you coming tonight?"))
    expect(link.locator("[data-messages-unread]")).to_have_text("1", timeout=30000)
    expect(link).to_have_attribute("aria-label", "Messages, 1 unread")
    _shot(page, "inbox-live-desktop-dm-badge")
    assert page_errors.uncaught == [], page_errors.uncaught
    assert page_errors.console == [], page_errors.console
    page.context.close()
