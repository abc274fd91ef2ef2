"""Issue 12 items 1 and 8 in headless Chromium, phone (390x844) and desktop (1440x900):

- a moderator removes a video from the review page with one key; its creator sees the
  bell's count, the notice (what, the rule, the decision, the date), appeals from the
  web and sees the appeal pending; the removed video stays on their profile and its page,
  marked removed with the reason, and is a 404 for everyone else;
- a suspended person who logs in reads why, until when, and how to appeal;
- settings: every tab reachable on a phone, country and language pickers, a username
  change through the re-authentication page, a data export requested and downloaded,
  deactivation, and deletion.

Screenshots go to var/artifacts/screenshots/ (and /tmp/shots-h2/ when it exists)."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from apps.accounts.models import DataExport, User
from apps.content.models import Post
from apps.moderation.groups import setup_groups
from apps.moderation.models import Appeal
from apps.moderation.services import case_open_or_merge, enforce
from apps.notifications.models import Notification
from apps.notifications.types import MODERATION_TYPES
from tests.browser.conftest import PHONE, PageErrors, screenshot
from tests.browser.test_layout_and_contrast import _assert_accessible
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.media.conftest import wait_for

DESKTOP = {"width": 1440, "height": 900}
SIZES = [pytest.param(PHONE, id="phone"), pytest.param(DESKTOP, id="desktop")]
PASSWORD = "correct-horse-battery"
SHOTS = Path("/tmp/shots-h2")


def _shot(page: Page, name: str, *, full_page: bool = True) -> None:
    path = screenshot(page, name, full_page=full_page)
    if SHOTS.is_dir():
        shutil.copy(path, SHOTS / path.name)


def _fits_the_width(page: Page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0, f"{page.url} is {overflow}px wider than the screen"


@pytest.fixture(scope="module")
def removed_video() -> dict[str, Any]:
    """A published video by `creator`, reported and waiting in the general queue. (Its media
    files are not made: these pages are about the decision, not playback, and transcoding
    on a busy machine made the module slow.)"""
    setup_groups()
    creator = UserFactory(username="street_artist")
    post_id = PostFactory(author=creator, caption="mural timelapse #art").pk
    case = case_open_or_merge(target_type="post", target_id=post_id, source="report",
                              policy="spam_scam", reporter=UserFactory(username="reporter_x"),
                              reason="selling fake tickets in the caption")
    return {"creator": creator, "post_id": post_id, "case_id": case.pk}


def _moderator() -> User:
    from django.contrib.auth.models import Group

    user = UserFactory(is_staff=True, username="mod_notices")
    user.groups.add(Group.objects.get(name="Moderators"))
    return user


def test_a_removal_reaches_its_creator_who_appeals_from_the_web(
        removed_video: dict[str, Any], logged_in_page: Callable[..., Page],
        new_context: Callable[..., BrowserContext], page_errors: PageErrors) -> None:
    creator: User = removed_video["creator"]
    post_id: int = removed_video["post_id"]

    # the moderator's one key: remove + strike
    review = logged_in_page(_moderator(), viewport=DESKTOP, touch=False)
    review.goto(f"/moderation/cases/{removed_video['case_id']}/")
    review.keyboard.press("m")
    review.wait_for_selector("text=You hold this case")
    review.get_by_label("Reason (shown to the person)").fill(
        "Sells fake tickets in the caption.")
    review.evaluate("() => document.activeElement.blur()")  # keys are shortcuts again
    with review.expect_navigation():
        review.keyboard.press("r")
    assert Post.objects.get(pk=post_id).status == Post.Status.REMOVED

    # the decisions reach the inbox through the notifications worker
    deadline = time.monotonic() + 30
    while Notification.objects.filter(recipient=creator,
                                      type__in=MODERATION_TYPES).count() < 2:
        assert time.monotonic() < deadline, "the moderation notices never reached the inbox"
        time.sleep(0.2)
    for viewport in (DESKTOP, PHONE):
        size = viewport["width"]
        page = logged_in_page(creator, viewport=viewport, touch=viewport == PHONE,
                              bypass_csp=True)  # axe-core is injected inline
        page.goto(f"/@{creator.username}")
        bell = page.locator("[data-notices-link]")
        if size == DESKTOP["width"]:  # the first visit reads them; the phone comes after
            # the notices are notifications (issue 14): the bell counts the inbox
            expect(bell).to_have_attribute("aria-label", "Inbox, 2 unread")
            expect(bell.locator("[data-unread-count]")).to_have_text("2")
        expect(bell).to_be_visible()
        # the removed video stays on the creator's own grid, marked, with the reason
        tile = page.locator(f'a.tile[href$="/video/{post_id}"]')
        expect(tile.locator(".badge.status")).to_have_text("Removed")
        expect(tile.locator("[data-removed-reason]")).to_contain_text("fake tickets")
        _shot(page, f"notices-profile-removed-{size}", full_page=False)

        bell.click()
        page.wait_for_url(re.compile(r"/inbox$"))
        # the inbox row of the removal leads to its detail on /notices
        page.locator('[data-type="moderation_removal"]', has_text="Your video was removed") \
            .get_by_role("link", name="Details").click()
        page.wait_for_url(re.compile(r"/notices$"))
        removal = page.locator(".notice-item", has_text="Your video was removed")
        expect(removal.locator("[data-what]")).to_have_text("Video")
        expect(removal.locator("[data-rule] a")).to_have_attribute(
            "href", "/pages/community-guidelines/spam_scam/")
        expect(removal.locator("[data-decision]")).to_have_text("Removed")
        strike = page.locator(".notice-item", has_text="Your account received a strike")
        expect(strike.locator("[data-decision]")).to_contain_text("Strike 1 of 4")
        _fits_the_width(page)
        _assert_accessible(page, f"notices {size}")
        _shot(page, f"notices-page-{size}")
        if size == PHONE["width"]:
            continue

        # appeal the removal from the web; the notice then shows the appeal's state
        removal.get_by_role("link", name="Appeal").click()
        page.wait_for_url(re.compile(r"/moderation/appeal/"))
        page.get_by_label("Why should we look again?").fill(
            "The tickets are for my own show; here is the venue's page.")
        _shot(page, f"notices-appeal-form-{size}")
        page.get_by_role("button", name="Send appeal").click()
        expect(page.locator("#appeal-received")).to_be_visible()
        page.get_by_role("link", name="Back to your notices").click()
        page.wait_for_url(re.compile(r"/notices$"))
        removal = page.locator(".notice-item", has_text="Your video was removed")
        expect(removal.locator("[data-appeal-status]")).to_have_attribute(
            "data-appeal-status", "pending")
        expect(removal.locator("[data-appeal-status]")).to_contain_text("waiting for a")
        expect(removal.get_by_role("link", name="Appeal")).to_have_count(0)
        assert Appeal.objects.get(action__target_id=post_id).status == "pending"
        _shot(page, f"notices-page-appealed-{size}")

        # the video's own page, for its creator: marked removed, with the reason
        removal.locator("[data-what] a").click()
        banner = page.locator("[data-removed-banner]")
        expect(banner).to_contain_text("Removed: only you can see this video")
        expect(banner.locator("[data-removed-reason]")).to_contain_text("fake tickets")
        _shot(page, f"post-removed-owner-{size}", full_page=False)

    # everyone else: a 404, signed in or not
    for viewer in (UserFactory(username="curious_fan"), None):
        other = (logged_in_page(viewer) if viewer is not None else new_context().new_page())
        for url in (f"/@{creator.username}/video/{post_id}", f"/p/{post_id}/"):
            response = other.goto(url)
            assert response is not None
            assert response.status == 404, url
    assert page_errors.uncaught == []


@pytest.mark.parametrize("viewport", SIZES)
def test_a_suspended_person_reads_why_at_log_in(
        new_context: Callable[..., BrowserContext], viewport: dict[str, int]) -> None:
    size = viewport["width"]
    user = UserFactory(username=f"suspended_{size}")
    enforce(action="suspend", target_type="user", target_id=user.pk, policy="spam_scam",
            reason="Posted the same link 400 times in a day.")
    page = new_context(viewport=viewport, touch=viewport == PHONE).new_page()
    page.goto("/accounts/login/")
    page.fill('input[name="login"]', user.username)
    page.fill('input[name="password"]', PASSWORD)
    page.locator('main form button[type="submit"]').click()  # not the header's search
    page.wait_for_url(re.compile(r"/accounts/inactive/$"))
    expect(page.get_by_role("heading", name="Your account is suspended")).to_be_visible()
    expect(page.locator("[data-block-reason]")).to_have_text(
        "Posted the same link 400 times in a day.")
    expect(page.locator("[data-block-summary]")).to_contain_text("You can't log in until")
    expect(page.get_by_role("link", name="Appeal this decision")).to_be_visible()
    assert "This account is inactive" not in page.content()
    _fits_the_width(page)
    _shot(page, f"login-suspended-{size}")


# --- settings ---------------------------------------------------------------------------


def _reauthenticate(page: Page) -> None:
    page.wait_for_url(re.compile(r"/accounts/reauthenticate/"))
    page.fill('input[name="password"]', PASSWORD)
    page.locator('main form button[type="submit"]').click()


@pytest.mark.parametrize("viewport", SIZES)
def test_every_settings_tab_is_on_screen_and_the_pickers_are_lists(
        logged_in_page: Callable[..., Page], viewport: dict[str, int]) -> None:
    size = viewport["width"]
    user = UserFactory(username=f"tabs_{size}", country="", language="")
    page = logged_in_page(user, viewport=viewport, touch=viewport == PHONE, bypass_csp=True)
    page.goto("/settings/account")
    tabs = page.locator(".settings-tabs a")
    assert tabs.count() == 6  # account, privacy, sessions, blocked, data, payouts
    # styled (pages.css loaded): a wrapping row of tabs, not bare inline links
    assert page.locator(".settings-tabs").evaluate(
        "el => [getComputedStyle(el).display, getComputedStyle(el).flexWrap]") == ["flex", "wrap"]
    rows = {round(box["y"]) for box in (tabs.nth(i).bounding_box() or {"y": -1.0}
                                        for i in range(tabs.count()))}
    assert len(rows) <= 2, f"the tabs take {len(rows)} rows"
    for index in range(tabs.count()):
        box = tabs.nth(index).bounding_box()
        assert box is not None
        # wholly on screen without scrolling sideways (they were clipped on a phone)
        assert box["x"] >= 0, (tabs.nth(index).inner_text(), box)
        assert box["x"] + box["width"] <= viewport["width"], (tabs.nth(index).inner_text(), box)
    _fits_the_width(page)
    _shot(page, f"settings-tabs-{size}", full_page=False)

    page.get_by_label("Country").select_option(label="Portugal")
    page.get_by_label("Language").select_option("pt-BR")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".messages")).to_contain_text("Your profile is saved.")
    user.refresh_from_db()
    assert (user.country, user.language) == ("PT", "pt-BR")
    expect(page.get_by_label("Country")).to_have_value("PT")
    _assert_accessible(page, f"settings account {size}")
    _shot(page, f"settings-account-{size}")


@pytest.mark.parametrize("viewport", SIZES)
def test_username_change_export_deactivate_and_delete_from_the_settings(
        logged_in_page: Callable[..., Page], viewport: dict[str, int]) -> None:
    size = viewport["width"]
    touch = viewport == PHONE
    user = UserFactory(username=f"renamer_{size}")
    page = logged_in_page(user, viewport=viewport, touch=touch, bypass_csp=True)

    # username: the re-authentication page comes first, then the change is made
    page.goto("/settings/account")
    page.get_by_label("New username").fill(f"renamed_{size}")
    page.get_by_role("button", name="Change username").click()
    _reauthenticate(page)
    expect(page.locator(".messages")).to_contain_text(f"Your username is now @renamed_{size}.")
    expect(page.locator("[data-username-cooldown]")).to_be_visible()
    _shot(page, f"settings-username-changed-{size}")
    page.get_by_label("New username").fill(f"again_{size}")
    page.get_by_role("button", name="Change username").click()
    expect(page.locator(".form-errors")).to_contain_text(
        "You can change your username again after")
    user.refresh_from_db()
    assert user.username == f"renamed_{size}"

    # data export: requested, prepared by the worker, then downloaded
    page.get_by_role("link", name="Your data", exact=True).click()
    page.wait_for_url(re.compile(r"/settings/data$"))
    _fits_the_width(page)
    _assert_accessible(page, f"settings data {size}")
    page.get_by_role("button", name="Request your data").click()
    expect(page.locator("[data-export-state]")).to_be_visible()
    export = DataExport.objects.get(user=user)
    _shot(page, f"settings-export-requested-{size}")
    # the Celery worker builds it
    wait_for(lambda: DataExport.objects.get(pk=export.pk).state == DataExport.State.READY,
             "the data export to be built", seconds=120)
    page.reload()
    expect(page.locator("[data-export-state]")).to_have_attribute("data-export-state", "ready")
    with page.expect_download() as download:
        page.locator("[data-export-download]").click()
    assert download.value.suggested_filename == f"swipeme-data-{export.pk}.zip"
    _shot(page, f"settings-export-ready-{size}")

    # deletion: the password and the tick; the account is logged out, deletion scheduled
    page.get_by_label("Your password").fill("not my password")
    page.get_by_label(re.compile("I understand my account")).check()
    _shot(page, f"settings-delete-form-{size}")
    page.get_by_role("button", name="Delete account").click()
    expect(page.locator(".field-errors")).to_contain_text(
        "Enter your current password to delete the account.")
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_label(re.compile("I understand my account")).check()
    page.get_by_role("button", name="Delete account").click()
    expect(page.locator(".messages")).to_contain_text("Your account will be deleted on")
    _shot(page, f"settings-deleted-{size}", full_page=False)
    user.refresh_from_db()
    assert user.deletion_scheduled_for is not None
    expect(page.get_by_role("link", name="Log in").first).to_be_visible()

    # deactivation (another account): logged out, hidden until the next log-in
    other = UserFactory(username=f"pausing_{size}")
    page = logged_in_page(other, viewport=viewport, touch=touch)
    page.goto("/settings/data")
    page.get_by_role("button", name="Deactivate account").click()
    _reauthenticate(page)
    expect(page.locator(".messages")).to_contain_text("Your account is deactivated")
    _shot(page, f"settings-deactivated-{size}", full_page=False)
    other.refresh_from_db()
    assert other.deactivated_at is not None
