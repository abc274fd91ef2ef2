"""Reporting one chat message from the live player page (issue 18), in headless Chromium
against the real server and its chat socket: a viewer opens a message's actions menu, picks
Report, chooses a reason in the shared report sheet and is told in words it was received; the
report reaches moderation through the live's report endpoint with the message (target
`live_message`). Their own message has no menu; a signed-out viewer gets none either.
The messages are rows as the chat service stores them (no encoder needed: the page's chat
works while the live is on air; the room's `ready` frame carries the recent chat). The
chat service's after-commit broadcast would run on the Playwright driver's event loop here.
Screenshots: var/artifacts/screenshots/live-report-*."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.live.models import LiveChatMessage, LivePolicy, LiveStream
from apps.moderation.models import Report
from tests.browser.conftest import PageErrors, screenshot
from tests.factories import UserFactory


def test_a_viewer_reports_a_chat_message_from_its_menu(
        logged_in_page: Callable[..., Page], page: Page, page_errors: PageErrors) -> None:
    LivePolicy.current()
    host = UserFactory(username="report_host")
    troll, viewer = UserFactory(username="loud_troll"), UserFactory(username="calm_viewer")
    live = LiveStream.objects.create(host=host, title="Evening sketching",
                                     state=LiveStream.State.LIVE,
                                     started_at=timezone.now() - timedelta(minutes=2))
    message = LiveChatMessage.objects.create(live=live, author=troll,
                                             text="you all draw like toddlers lol")
    own = LiveChatMessage.objects.create(live=live, author=viewer, text="lovely colours")

    watcher = logged_in_page(viewer)
    watcher.goto(f"/live/{live.pk}")
    line = watcher.locator(f'[data-message-id="{message.pk}"]')
    expect(line).to_contain_text("you all draw like toddlers lol")
    # their own message: nothing to report
    expect(watcher.locator(f'[data-message-id="{own.pk}"] .live-chat-more')).to_have_count(0)

    line.get_by_role("button", name="Actions for loud_troll's message").click()
    menu = watcher.get_by_role("menu", name="loud_troll's message")
    expect(menu.get_by_role("menuitem")).to_have_text(["Report"])  # no moderation for viewers
    menu.get_by_role("menuitem", name="Report").click()
    dialog = watcher.get_by_role("dialog", name="Report this message")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("radio").first).to_be_visible()
    screenshot(watcher, "live-report-sheet-phone")
    dialog.get_by_role("radio").first.check()
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_role("status")).to_have_text(
        "Thanks for telling us. We will review this message.")
    screenshot(watcher, "live-report-sent-phone")
    report = Report.objects.get(reporter=viewer)
    assert report.target_type == "live_message"
    assert report.target_id == message.pk

    # the same message again: the API's refusal, in words, in the sheet
    dialog.get_by_role("button", name="Done").click()
    line.get_by_role("button", name="Actions for loud_troll's message").click()
    watcher.get_by_role("menuitem", name="Report").click()
    dialog.get_by_role("radio").first.check()
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog.get_by_role("status")).to_contain_text("already")
    assert Report.objects.filter(reporter=viewer).count() == 1

    # signed out: the chat is readable, no actions
    page.goto(f"/live/{live.pk}")
    expect(page.locator(f'[data-message-id="{message.pk}"]')).to_be_visible()
    expect(page.locator(".live-chat-more")).to_have_count(0)
    assert page_errors.uncaught == [], page_errors.uncaught


def test_the_hosts_menu_on_the_last_line_shows_every_action(
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    """The chat list scrolls, so a menu opened inside it on its last line was cut off after
    its first item ("Pin"); it is placed against the viewport instead."""
    LivePolicy.current()
    host = UserFactory(username="menu_host")
    live = LiveStream.objects.create(host=host, title="Late show", state=LiveStream.State.LIVE,
                                     started_at=timezone.now() - timedelta(minutes=2))
    for n in range(12):
        last = LiveChatMessage.objects.create(live=live, author=UserFactory(),
                                              text=f"line {n}")
    stage = logged_in_page(host)
    stage.goto(f"/live/{live.pk}")
    line = stage.locator(f'[data-message-id="{last.pk}"]')
    expect(line).to_contain_text("line 11")
    line.locator(".live-chat-more").click()
    items = stage.get_by_role("menuitem")
    expect(items.last).to_have_text("Report")
    labels = items.all_inner_texts()
    assert labels[0] == "Pin", labels
    assert "Delete" in labels, labels
    for item in items.all():
        # what is drawn at the item's centre is the item: not clipped, not covered
        hit = item.evaluate("""(el) => { const r = el.getBoundingClientRect();
            const x = r.left + r.width / 2, y = r.top + r.height / 2;
            return y > 0 && y < innerHeight && el.contains(document.elementFromPoint(x, y)); }""")
        assert hit, f"{item.inner_text()} is cut off or covered"
    screenshot(stage, "live-host-menu-last-line-phone")
    assert page_errors.uncaught == [], page_errors.uncaught
