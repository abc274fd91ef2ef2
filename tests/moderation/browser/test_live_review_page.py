"""A reported live on the review page in headless Chromium, phone and desktop: ffmpeg
publishes through the real ingest, a viewer reports the live from its page (the Report
button, the shared report dialog), the sampled frame the
transcoder wrote goes through the nudity check (a test pattern: clean), the moderator's
page plays the stream (hls.js, through the page's own route: the live is followers-only and
the moderator follows nobody) beside the chat around the report, and the moderator ends
the live from the page with its keys: the encoder is dropped, the page then shows the kept
frame, the host is told in words. Screenshots in var/artifacts/screenshots/ (and
/tmp/shots-h6)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.contrib.auth.models import Group
from playwright.sync_api import expect

from apps.live.models import LiveChatMessage, LiveStream
from apps.live.safety import frames
from apps.live.services import key_create, live_create
from apps.moderation.groups import setup_groups
from apps.moderation.models import AuditEvent, Case, Notice
from apps.social.models import Follow
from tests.browser.conftest import DESKTOP, PHONE, screenshot
from tests.factories import UserFactory
from tests.live.conftest import Ingest, Publish, live_ingest, publish, wait_until  # noqa: F401
from tests.live.live_helpers import host

SHOTS = Path("/tmp/shots-h6")
PLAYING_JS = """(video) => video.readyState >= 3 && !video.paused && video.currentTime > 1
  && video.videoWidth > 0"""


def test_a_reported_live_plays_on_the_review_page_and_the_moderator_ends_it(
        logged_in_page: Any, page_errors: Any, live_ingest: Ingest,  # noqa: F811
        publish: Publish) -> None:  # noqa: F811
    setup_groups()
    creator = host(username="night_dj")
    viewer = UserFactory(username="worried_viewer")
    Follow.objects.create(follower=viewer, followee=creator)
    _, key = key_create(creator)
    live = live_create(creator, title="After hours", audience=LiveStream.Audience.FOLLOWERS)
    encoder = publish(key, seconds=120)
    frame = live_ingest.live_dir(live.pk) / "frames" / "latest.jpg"
    try:
        wait_until(lambda: LiveStream.objects.filter(pk=live.pk, state="live").exists()
                   and (live_ingest.live_dir(live.pk) / "index.m3u8").exists()
                   and frame.exists(), timeout=60,
                   what="the live on air with its playlist and a frame")
    except AssertionError:
        if encoder.poll() is not None and encoder.stderr is not None:
            raise AssertionError(f"the encoder: {encoder.stderr.read()!r}") from None
        raise
    for i, text in enumerate(["hello from the chat", "this is getting weird",
                              "someone report this", "lol"]):
        LiveChatMessage.objects.create(live=live, author=viewer if i % 2 else creator, text=text)
    assert frames.frame_check(live.pk) == "clean"  # the transcoder's frame, really checked

    # the viewer reports the live from its page (the shared report dialog)
    watching = logged_in_page(viewer, viewport=PHONE)
    watching.goto(f"/live/{live.pk}", wait_until="domcontentloaded")
    watching.get_by_role("button", name="Report this live").click()
    dialog = watching.locator("#report-dialog")
    dialog.get_by_label("Nudity and sexual content").check()
    dialog.get_by_role("button", name="Send report").click()
    expect(dialog).to_contain_text("Thanks for telling us. We will review this live.")
    screenshot(watching, "live-report-sent-phone", copy_to=SHOTS)
    watching.close()
    case = Case.objects.get(target_type="live", target_id=live.pk)
    assert case.reports.get().reporter_id == viewer.pk
    moderator = UserFactory(is_staff=True, username="mod_live")
    moderator.groups.add(Group.objects.get(name="Moderators"))

    for name, viewport in (("phone", PHONE), ("desktop", DESKTOP)):
        page = logged_in_page(moderator, viewport=viewport, touch=name == "phone")
        # "load" may wait on the stream's requests: the document is enough
        page.goto(f"/moderation/cases/{case.pk}/", wait_until="domcontentloaded")
        player = page.locator("#live-preview video#player")
        player.wait_for()
        page.wait_for_function(PLAYING_JS, arg=player.element_handle(), timeout=30_000)
        chat = page.locator(".live-evidence .live-chat")
        expect(chat).to_contain_text("this is getting weird")
        assert chat.locator(".dm-msg").count() == 4
        expect(page.locator(".live-evidence")).to_contain_text("reported by @worried_viewer")
        # the kept frame is a real image, and the page fits a phone's width
        assert page.locator(".live-thumb").evaluate("img => img.complete && img.naturalWidth > 0")
        assert page.evaluate("() => document.documentElement.scrollWidth") <= viewport["width"]
        screenshot(page, f"moderation-live-review-{name}", full_page=True, copy_to=SHOTS)
        if name == "phone":
            page.close()  # one player pulling the stream at a time

    # the moderator claims (m) and ends the live (x) with the keyboard, on the desktop page
    page.keyboard.press("m")
    expect(page.locator(".claim.mine")).to_be_visible()
    page.locator("label.check input[name=then]").uncheck()
    page.on("dialog", lambda dialog: dialog.accept())
    page.keyboard.press("x")
    page.wait_for_url("**/moderation/")
    wait_until(lambda: LiveStream.objects.filter(pk=live.pk, state="ended").exists(),
               what="the live ended")
    live.refresh_from_db()
    assert live.end_reason == LiveStream.EndReason.MODERATOR
    wait_until(lambda: encoder.poll() is not None, timeout=30, what="the encoder dropped")
    assert AuditEvent.objects.filter(case=case, verb="enforce_end_live",
                                     actor=moderator).exists()
    told = Notice.objects.get(user=creator, kind="end_live")
    assert "A moderator ended your live “After hours”" in told.body

    # once it ended, the page shows the frame kept with the report instead of the stream
    page.goto(f"/moderation/cases/{case.pk}/", wait_until="domcontentloaded")
    kept = page.locator("#live-preview img.live-frame")
    kept.wait_for()
    assert kept.evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("#live-preview video").count() == 0
    screenshot(page, "moderation-live-review-ended-desktop", full_page=True, copy_to=SHOTS)
    assert not page_errors.uncaught, page_errors.uncaught
