"""The live page applies the chat's limits the staff set (LivePolicy, read through the
socket's `ready`): the composer's length, the host's slow-mode steps, the mute lengths in a
message's menu; and a `missed` frame (a connection too slow for the room) is said in the
chat's status. No encoder: the live is put on air through the services."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from playwright.sync_api import BrowserContext, expect

from apps.live.chat import broadcast, services
from apps.live.models import LivePolicy
from tests.browser.conftest import DESKTOP, PageErrors, log_in, screenshot
from tests.factories import UserFactory
from tests.live.live_helpers import host, on_air

SHOTS = Path("/tmp/shots-h2")


def test_the_page_follows_the_staffs_chat_limits_and_says_missed_messages(
        new_context: Callable[..., BrowserContext], base_url: str,
        page_errors: PageErrors) -> None:
    policy = LivePolicy.current()
    policy.chat_max_chars = 80
    policy.chat_slow_mode_max_seconds = 30
    policy.chat_mute_short_minutes, policy.chat_mute_long_minutes = 10, 60
    policy.save()
    creator = host(username="maya")
    live, _ = on_air(creator)
    fan = UserFactory(username="sam")
    services.chat_post(fan, live.pk, "hello from the front row")

    context = new_context(viewport=DESKTOP, touch=False)
    log_in(context, creator, base_url)
    page = context.new_page()
    page.goto(f"/live/{live.pk}")
    line = page.locator("[data-chat-list]").get_by_text("hello from the front row")
    expect(line).to_be_visible(timeout=20_000)  # the socket's `ready` arrived

    expect(page.locator("[data-chat-input]")).to_have_attribute("maxlength", "80")
    page.get_by_role("button", name="Actions for sam's message").click()
    expect(page.get_by_role("menuitem", name="Mute 10 min")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Mute 60 min")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Mute 5 min")).to_have_count(0)
    screenshot(page, "live-chat-limits-menu-desktop", copy_to=SHOTS)
    page.keyboard.press("Escape")

    page.get_by_role("button", name="Host controls").click()
    steps = page.locator("[data-slow-mode] option").evaluate_all(
        "(options) => options.map((o) => o.value)")
    assert steps == ["0", "3", "5", "10", "30"]
    screenshot(page, "live-chat-limits-host-sheet-desktop", copy_to=SHOTS)
    page.keyboard.press("Escape")

    # the room tells a connection that some messages never reached it (sent from a thread
    # of its own: Playwright's loop runs in this one, where async_to_sync refuses to)
    frame = {"type": "missed", "count": 3,
             "message": "Your connection is slow: 3 chat messages didn't reach you."}
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(broadcast.send, live.pk, frame).result()
    expect(page.locator("[data-chat-status]")).to_have_text(
        "Your connection is slow: 3 chat messages didn't reach you.")
    screenshot(page, "live-chat-missed-desktop", copy_to=SHOTS)
    assert page_errors.uncaught == [], page_errors.uncaught
