"""Share to a direct message from the feed's share sheet (issue 15, "share-to-DM from the
feed's share sheet"), in the real browser against the real server and worker: the sheet
lists the viewer's recent conversations and finds anyone to send to; one tap sends the
video as a card, which the friend's open thread shows live; a person with no conversation
yet gets one. Screenshots at 390x844 and 1440x900 in /tmp/shots-h4/."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from apps.messaging import services
from apps.messaging.models import Conversation, Message
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot, seed_posts
from tests.browser.messaging_helpers import (  # noqa: F401 - slow_expect is a fixture
    SHOTS,
    friends,
    in_thread,
    send,
    slow_expect,
)
from tests.factories import UserFactory

ACTIVE = "() => { const s = window.swipeme; return !!s && s.active >= 0 && !!s.items[s.active]; }"


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    creator = UserFactory(username="share_maker")
    ids = seed_posts(tmp_path_factory.mktemp("share-clips"), [creator], count=1,
                     captions=["Sunset over the bay #sky"])
    return {"creator": creator, "post_id": ids[0]}


def _start(a: Any, b: Any) -> Conversation:
    """Friends with a conversation that has a message (so it is in the recent ones)."""
    friends(a, b)

    def start() -> Conversation:
        conversation = services.start_direct(a, b)
        send(b, conversation, "Send me good videos")
        return conversation

    made: Conversation = in_thread(start)
    return made


def _open_share(page: Page) -> Any:
    page.goto("/")
    page.wait_for_function(ACTIVE, timeout=30_000)
    index = page.evaluate("() => window.swipeme.active")
    page.locator(f'.feed-item[data-index="{index}"]').locator("button.share").click()
    sheet = page.locator("#share-sheet")
    expect(sheet).to_be_visible()
    return sheet


def test_share_a_video_to_a_friend_and_to_someone_new(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    mo = UserFactory(username="mo_share", display_name="Mo")
    ned = UserFactory(username="ned_share", display_name="Ned")
    oli = UserFactory(username="oli_share", display_name="Oli")
    conversation = _start(mo, ned)

    ned_page = logged_in_page(ned, viewport=PHONE)
    ned_page.goto(f"/messages/{conversation.pk}")
    expect(ned_page.locator("[data-thread]")).to_have_attribute("data-ready", "1")
    ned_page.wait_for_function(
        "() => document.querySelector('[data-dm]').dataset.socket === 'open'")

    mo_page = logged_in_page(mo, viewport=DESKTOP, touch=False)
    sheet = _open_share(mo_page)
    section = sheet.get_by_role("region", name="Send to")
    recent = section.get_by_role("button", name="Send to Ned")
    expect(recent).to_be_visible()
    mo_page.wait_for_timeout(300)  # the sheet has finished rising
    screenshot(mo_page, "messages-share-sheet-desktop", copy_to=SHOTS)
    recent.click()
    status = section.get_by_role("status")
    expect(status).to_contain_text("Sent to Ned.")
    expect(status.get_by_role("link", name="Open chat")).to_have_attribute(
        "href", f"/messages/{conversation.pk}")
    # Ned's open thread gets the card without a reload
    card = ned_page.locator('[data-card="post"]')
    expect(card).to_contain_text("Sunset over the bay")
    expect(card).to_have_attribute("href", f"/@share_maker/video/{catalogue['post_id']}")
    # the first screenshot showed an empty (black) cover: the poster loads
    ned_page.wait_for_function(
        "() => { const i = document.querySelector('[data-card=post] img');"
        " return !!i && i.complete && i.naturalWidth > 0; }")
    # read where it arrived: the Messages badge did not stay at 1 (a screenshot showed it)
    expect(ned_page.locator("[data-messages-link] [data-messages-unread]")).to_have_count(0)
    screenshot(ned_page, "messages-shared-card-phone", copy_to=SHOTS)

    # someone Mo has no conversation with: found by name, a conversation starts
    section.get_by_role("searchbox", name="Search people to send to").fill("oli")
    section.get_by_role("button", name="Send to Oli").click()
    expect(status).to_contain_text("Sent to Oli.")
    sent = Message.objects.filter(sender=mo, shared_post_id=int(catalogue["post_id"]))
    assert sent.count() == 2
    assert {m.conversation.direct_key for m in sent} == {
        services.direct_key(mo.pk, ned.pk), services.direct_key(mo.pk, oli.pk)}

    # on a phone the sheet fits: the targets and the search box are on screen (another
    # viewer: the feed does not show Mo the one video again)
    pia = UserFactory(username="pia_share", display_name="Pia")
    _start(pia, ned)
    phone = logged_in_page(pia, viewport=PHONE)
    sheet = _open_share(phone)
    section = sheet.get_by_role("region", name="Send to")
    expect(section.get_by_role("button", name="Send to Ned")).to_be_visible()
    # the screenshot showed an empty status line's gap above "Send to": it takes no room
    expect(sheet.locator(".sheet-actions + .sheet-status")).to_be_hidden()
    box = section.get_by_role("searchbox").bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= PHONE["height"]
    phone.wait_for_timeout(300)
    screenshot(phone, "messages-share-sheet-phone", copy_to=SHOTS)
    assert page_errors.uncaught == [], page_errors.uncaught
