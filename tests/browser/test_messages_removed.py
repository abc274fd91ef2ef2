"""A direct message our moderators removed, in the real browser (issue 15): it turns live
into a tombstone saying it was removed for breaking the Community Guidelines, for the
other member and for its sender alike; its reactions go, its menu offers neither Unsend
nor Report, the list's preview says "Message removed"; an appeal granted brings it back
live. Screenshots at 390x844 and 1440x900 in /tmp/shots-h12/."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from apps.messaging import services
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.browser.messaging_helpers import (  # noqa: F401 - slow_expect is a fixture
    bubble,
    friends,
    in_thread,
    open_thread,
    send,
    slow_expect,
)
from tests.factories import UserFactory

SHOTS = Path("/tmp/shots-h12")
REMOVED = "This message was removed for breaking our Community Guidelines."


def test_a_removed_message_is_a_tombstone_for_both_live_and_comes_back_on_appeal(
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    ines = UserFactory(username="ines_rm", display_name="Ines")
    otto = UserFactory(username="otto_rm", display_name="Otto")
    friends(ines, otto)
    conversation = services.start_direct(ines, otto)
    in_thread(lambda: send(otto, conversation, "Morning!"))
    bad = in_thread(lambda: send(otto, conversation, "Something nasty about you"))
    in_thread(lambda: services.react(ines, conversation.pk, bad.pk, emoji="😮"))
    for viewport in (PHONE, DESKTOP):  # removed, restored, removed again
        size = "phone" if viewport == PHONE else "desktop"
        reader = logged_in_page(ines, viewport=viewport, touch=viewport == PHONE)
        sender = logged_in_page(otto, viewport=viewport, touch=viewport == PHONE)
        for page in (reader, sender):
            open_thread(page, conversation)
            expect(bubble(page, "Something nasty")).to_be_visible()
        assert in_thread(lambda: services.remove_by_moderation(message_id=bad.pk))
        for page in (reader, sender):
            node = page.locator(f"#m-{bad.pk}")
            expect(node.locator("[data-removed]")).to_have_text(REMOVED)
            expect(node).to_have_attribute("data-state", "removed")
            expect(page.get_by_text("Something nasty")).to_have_count(0)
            expect(node.locator("[data-reactions]")).to_have_count(0)
            # a tombstone for the sender too (it was drawn as a solid blue bubble of theirs)
            assert node.locator(".dm-bubble").evaluate(
                "n => getComputedStyle(n).backgroundColor") == "rgba(0, 0, 0, 0)"
            node.locator(".dm-menu-button").click()
            sheet = page.locator("dialog[open]")
            expect(sheet.get_by_role("button", name="Delete for me")).to_be_visible()
            expect(sheet.get_by_role("button", name="Unsend")).to_have_count(0)
            expect(sheet.get_by_role("button", name="Report")).to_have_count(0)
            expect(sheet.get_by_role("button", name="Reply")).to_have_count(0)
            page.keyboard.press("Escape")
        screenshot(reader, f"messages-removed-{size}", copy_to=SHOTS)
        screenshot(sender, f"messages-removed-sender-{size}", copy_to=SHOTS)
        if viewport == DESKTOP:  # the list beside the thread: its preview says so too
            expect(reader.locator(f"[data-conversation-id='{conversation.pk}']")
                   .get_by_text("Message removed")).to_be_visible()
        assert in_thread(lambda: services.restore_by_moderation(message_id=bad.pk))
        for page in (reader, sender):
            expect(bubble(page, "Something nasty about you")).to_be_visible()
            expect(page.locator(f"#m-{bad.pk} [data-removed]")).to_have_count(0)
        reader.context.close()
        sender.context.close()
    assert page_errors.uncaught == [], page_errors.uncaught
