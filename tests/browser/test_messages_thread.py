"""One conversation's thread in the real browser (issue 15, web client): older pages load on
scrolling up (`?before=`) and what was on screen stays put; edit and unsend from a
message's menu reach the other person live, delete for me only hides it for me; a shared
post the reader may not see (any more) is a card that says so; a media message waiting for
its checks shows "Checking…" to its sender only and, refused, the reason in words; a
dropped socket resumes from its last change_seq and loses nothing, duplicates nothing.
Screenshots at 390x844 and 1440x900 in /tmp/shots-h4/."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from playwright.sync_api import Page, expect

from apps.accounts.models import User
from apps.content.models import Post
from apps.media.models import MediaAsset
from apps.messaging import services
from apps.messaging.models import Conversation, Message
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.browser.messaging_helpers import (  # noqa: F401 - slow_expect is a fixture
    SHOTS,
    bubble,
    friends,
    message_menu,
    open_thread,
    send,
    slow_expect,
)
from tests.browser.messaging_helpers import in_thread as _in_thread
from tests.content.factories import MediaAssetFactory
from tests.engagement.factories import PublishedPostFactory
from tests.factories import UserFactory


def _pair(a: str, b: str) -> tuple[User, User, Conversation]:
    one = UserFactory(username=a, display_name=a.split("_")[0].capitalize())
    two = UserFactory(username=b, display_name=b.split("_")[0].capitalize())
    friends(one, two)
    return one, two, services.start_direct(one, two)


def _in_view(page: Page, locator: Any) -> bool:
    box = locator.bounding_box()
    scroller = page.locator("[data-thread-scroll]").bounding_box()
    return bool(box and scroller and box["y"] >= scroller["y"] - 1
                and box["y"] + box["height"] <= scroller["y"] + scroller["height"] + 1)


def test_scrolling_up_loads_older_pages_and_keeps_the_view(
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    eva, finn, conversation = _pair("eva_dm", "finn_dm")
    _in_thread(lambda: [send(eva if n % 2 else finn, conversation, f"Line {n:02d}")
                        for n in range(1, 66)])
    for viewport in (PHONE, DESKTOP):
        page = logged_in_page(eva, viewport=viewport, touch=viewport == PHONE)
        open_thread(page, conversation)
        messages = page.locator("[data-thread-messages] > .dm-msg")
        expect(messages).to_have_count(30)
        # the newest at the bottom, on screen
        assert _in_view(page, bubble(page, "Line 65"))
        assert not _in_view(page, bubble(page, "Line 36"))
        page.evaluate("() => { document.querySelector('[data-thread-scroll]').scrollTop = 0; }")
        expect(messages).to_have_count(60)
        # the page that was on top is still where it was: the view did not jump to Line 06
        expect(bubble(page, "Line 36")).to_be_visible()
        assert _in_view(page, bubble(page, "Line 36")), "the view jumped on loading older"
        page.evaluate("() => { document.querySelector('[data-thread-scroll]').scrollTop = 0; }")
        expect(messages).to_have_count(65)
        expect(page.locator("[data-thread-top]")).to_have_text("The start of your conversation")
        seqs = page.eval_on_selector_all("[data-thread-messages] > .dm-msg",
                                         "nodes => nodes.map(n => Number(n.dataset.seq))")
        assert seqs == sorted(seqs)
        assert len(set(seqs)) == 65
        size = "phone" if viewport == PHONE else "desktop"
        screenshot(page, f"messages-older-{size}", copy_to=SHOTS)
        page.context.close()
    assert page_errors.uncaught == [], page_errors.uncaught


def test_edit_unsend_and_delete_for_me_from_the_menu(
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    gia, hal, conversation = _pair("gia_dm", "hal_dm")
    _in_thread(lambda: [send(gia, conversation, "See you at the parc"),
                        send(gia, conversation, "Bring the speaker"),
                        send(hal, conversation, "Which entrance?")])
    gia_page = logged_in_page(gia, viewport=DESKTOP, touch=False)
    hal_page = logged_in_page(hal, viewport=PHONE)
    open_thread(gia_page, conversation)
    open_thread(hal_page, conversation)

    # someone else's message: no Edit, no Unsend, but Report
    menu = message_menu(gia_page, "Which entrance?")
    expect(menu.get_by_role("button", name="Edit")).to_have_count(0)
    expect(menu.get_by_role("button", name="Unsend")).to_have_count(0)
    expect(menu.get_by_role("button", name="Report")).to_be_visible()
    menu.get_by_role("button", name="Close").click()

    # edit: the composer holds the text; saved, both see it, marked Edited
    message_menu(gia_page, "See you at the parc").get_by_role("button", name="Edit").click()
    composer = gia_page.locator("[data-composer] textarea")
    expect(composer).to_have_value("See you at the parc")
    expect(gia_page.locator("[data-composing]")).to_contain_text("Editing your message")
    composer.fill("See you at the park")
    composer.press("Enter")
    for page in (gia_page, hal_page):
        edited = bubble(page, "See you at the park")
        expect(edited).to_be_visible()
        expect(edited.locator(".dm-edited")).to_have_text("Edited")
    expect(hal_page.locator(".dm-text", has_text="parc")).to_have_count(0)

    # unsend: a tombstone for both, no text left
    gia_page.once("dialog", lambda dialog: dialog.accept())
    message_menu(gia_page, "Bring the speaker").get_by_role("button", name="Unsend").click()
    expect(gia_page.locator(".dm-unsent")).to_have_text(re.compile("You unsent a message"))
    expect(hal_page.locator(".dm-unsent")).to_have_text(re.compile("Message unsent"))
    expect(hal_page.get_by_text("Bring the speaker")).to_have_count(0)

    # delete for me: gone here, still there for the other
    menu = message_menu(hal_page, "See you at the park")
    menu.get_by_role("button", name="Delete for me").click()
    expect(bubble(hal_page, "See you at the park")).to_have_count(0)
    hal_page.reload()
    expect(hal_page.locator("[data-thread]")).to_have_attribute("data-ready", "1")
    expect(bubble(hal_page, "See you at the park")).to_have_count(0)
    expect(bubble(gia_page, "See you at the park")).to_be_visible()
    screenshot(gia_page, "messages-edited-unsent-desktop", copy_to=SHOTS)
    screenshot(hal_page, "messages-edited-unsent-phone", copy_to=SHOTS)
    assert page_errors.uncaught == [], page_errors.uncaught


def test_cards_and_media_waiting_for_checks(logged_in_page: Callable[..., Page],
                                            page_errors: PageErrors) -> None:
    ivy, jon, conversation = _pair("ivy_dm", "jon_dm")
    post = PublishedPostFactory(author=ivy, caption="My private rehearsal")
    asset = MediaAssetFactory(owner=ivy, state=MediaAsset.State.PROCESSING)
    _in_thread(lambda: [send(ivy, conversation, kind=Message.Kind.POST,
                              shared_post_id=post.pk),
                        send(ivy, conversation, kind=Message.Kind.PROFILE,
                              shared_user_id=ivy.pk),
                        send(ivy, conversation, kind=Message.Kind.MEDIA, asset_id=asset.pk)])
    waiting = Message.objects.get(asset=asset)
    assert waiting.state == Message.State.PENDING
    # the author makes the post private: only she may see it now
    Post.objects.filter(pk=post.pk).update(visibility=Post.Visibility.PRIVATE)

    ivy_page = logged_in_page(ivy, viewport=PHONE)
    jon_page = logged_in_page(jon, viewport=DESKTOP, touch=False)
    open_thread(ivy_page, conversation)
    open_thread(jon_page, conversation)
    expect(ivy_page.locator('[data-card="post"]')).to_contain_text("My private rehearsal")
    expect(jon_page.locator('[data-card="unavailable"]')).to_contain_text("Video unavailable")
    expect(jon_page.get_by_text("My private rehearsal")).to_have_count(0)
    for page in (ivy_page, jon_page):
        expect(page.locator('[data-card="profile"]')).to_contain_text("@ivy_dm")
    # waiting for its checks: its sender sees "Checking…", the other nothing
    expect(ivy_page.locator('[data-media-state="pending"]')).to_have_text("Checking…")
    expect(jon_page.locator("[data-media-state]")).to_have_count(0)
    screenshot(ivy_page, "messages-cards-checking-phone", copy_to=SHOTS)
    screenshot(jon_page, "messages-cards-unavailable-desktop", copy_to=SHOTS)

    # refused: the sender is told why, live
    _in_thread(lambda: services.reject_pending(
        waiting.pk, "This video can't be sent: it looks like it shows violence."))
    rejected = ivy_page.locator('[data-media-state="rejected"]')
    expect(rejected).to_contain_text("Not sent")
    expect(rejected).to_contain_text("it looks like it shows violence")
    expect(jon_page.locator("[data-media-state]")).to_have_count(0)
    # the screenshot showed a refused message as a sent (blue) bubble: it is told apart
    colour = rejected.evaluate("n => getComputedStyle(n.closest('.dm-bubble')).backgroundColor")
    sent = ivy_page.locator('.dm-msg.mine[data-state="visible"] .dm-bubble').first.evaluate(
        "n => getComputedStyle(n).backgroundColor")
    assert colour != sent
    screenshot(ivy_page, "messages-media-rejected-phone", copy_to=SHOTS)
    assert page_errors.uncaught == [], page_errors.uncaught


def test_a_dropped_socket_resumes_without_loss_or_duplicates(
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    kai, lea, conversation = _pair("kai_dm", "lea_dm")
    first = _in_thread(lambda: send(lea, conversation, "Are you there?"))
    page = logged_in_page(kai, viewport=DESKTOP, touch=False)
    open_thread(page, conversation)
    expect(bubble(page, "Are you there?")).to_be_visible()
    # the connection drops and stays down while two messages and an edit are sent
    page.evaluate("() => { const s = window.swipemeMessages.socket; s.stopped = true; s.drop(); }")
    page.wait_for_function("() => document.querySelector('[data-dm]').dataset.socket === 'closed'")
    _in_thread(lambda: [send(lea, conversation, "Hello?"),
                        send(lea, conversation, "Call me when you can"),
                        services.edit_message(lea, conversation.pk, first.pk,
                                              body="Are you there, Kai?")])
    page.wait_for_timeout(500)
    expect(bubble(page, "Hello?")).to_have_count(0)
    page.evaluate("() => { const s = window.swipemeMessages.socket; s.stopped = false; "
                  "s.connect(); }")
    expect(bubble(page, "Call me when you can")).to_be_visible()
    expect(bubble(page, "Are you there, Kai?")).to_be_visible()
    expect(bubble(page, "Hello?")).to_have_count(1)
    expect(page.locator("[data-thread-messages] > .dm-msg")).to_have_count(3)
    # and live again after the resume
    _in_thread(lambda: send(lea, conversation, "Back online"))
    expect(bubble(page, "Back online")).to_be_visible()
    expect(page.locator("[data-thread-messages] > .dm-msg")).to_have_count(4)
    assert page_errors.uncaught == [], page_errors.uncaught


def test_the_list_loads_more_conversations_at_its_end(
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    me = UserFactory(username="busy_dm", display_name="Busy")
    people = [UserFactory(username=f"pal{n:02d}_dm") for n in range(33)]
    for person in people:
        friends(me, person)

    def start_all() -> None:
        for person in people:
            send(person, services.start_direct(person, me), f"Hi from {person.username}")

    _in_thread(start_all)
    page = logged_in_page(me, viewport=DESKTOP, touch=False)
    page.goto("/messages")
    rows = page.locator("[data-dm-list] > li")
    expect(rows).to_have_count(30)  # the API's first page, newest first
    expect(rows.first).to_contain_text("Hi from pal32_dm")
    rows.last.scroll_into_view_if_needed()
    expect(rows).to_have_count(33)
    expect(rows.last).to_contain_text("Hi from pal00_dm")
    assert page_errors.uncaught == [], page_errors.uncaught
