"""The creator -> viewer path of a live in the real browser (issue 18): the creator sets up a
live and makes a stream key in the studio (shown once), ffmpeg publishes through the real
ingest (nginx-rtmp, the transcoder, the HLS serving), the studio page turns "waiting" into
"you're live" by itself, a viewer on a phone finds the live in the Live tab and sees the
video play (hls.js, at the live edge), chats, likes and sends a gift (coins bought the real
way); the host sees the chat and the gift on their own player page, pins the viewer's
message, ends the live and saves the replay from the end screen, while the viewer's page
says the live has ended. Screenshots at 390x844 and 1440x900 (copied to /tmp/shots-h5/)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import BrowserContext, Page, expect

from apps.live.models import LivePolicy, LiveStream
from tests.browser.conftest import DESKTOP, PageErrors, log_in, screenshot
from tests.live.conftest import Ingest, Publish, live_ingest, publish  # noqa: F401 - the fixtures
from tests.live.live_helpers import host
from tests.monetization.coin_helpers import adult, buy

SHOTS = Path("/tmp/shots-h5")

PLAYING_JS = """(video) => video.readyState >= 3 && !video.paused && video.currentTime > 1
  && video.videoWidth > 0"""


def _page(new_context: Callable[..., BrowserContext], user: object, base_url: str,
          **options: object) -> Page:
    context = new_context(**options)
    log_in(context, user, base_url)
    page = context.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "End your live now?" and the like
    return page


def test_creator_goes_live_and_a_viewer_watches_chats_likes_and_gifts(
        new_context: Callable[..., BrowserContext], base_url: str, page_errors: PageErrors,
        live_ingest: Ingest, publish: Publish) -> None:  # noqa: F811 - fixtures
    LivePolicy.current()
    creator = host(username="maya")
    viewer = adult(username="sam")
    buy(viewer, coins=70)

    # --- the creator: set up, the key shown once, the encoder starts ----------------------
    studio = _page(new_context, creator, base_url, viewport=DESKTOP, touch=False)
    studio.goto("/studio/live")
    expect(studio.get_by_text("You don't have a stream key yet.")).to_be_visible()
    studio.get_by_label("Title").fill("Sunday jam")
    studio.get_by_role("button", name="Get ready to go live").click()
    expect(studio.get_by_text("Waiting for your encoder…")).to_be_visible()
    studio.get_by_role("button", name="Make a stream key").click()
    key = studio.locator("[data-plain-key]").inner_text().strip()
    assert key.startswith("live_")
    expect(studio.get_by_text("This is the only time we show your key")).to_be_visible()
    screenshot(studio, "live-studio-key-desktop", copy_to=SHOTS)
    live = LiveStream.objects.get(host=creator)

    encoder = publish(key, seconds=120)
    # the page turns to "You're live" by itself when the media arrives
    expect(studio.locator("[data-status-title]")).to_have_text("You're live", timeout=30_000)
    expect(studio.locator("[data-watch-link]")).to_be_visible()
    screenshot(studio, "live-studio-on-air-desktop", copy_to=SHOTS)

    # --- the viewer (a phone): the Live tab, the player at the live edge ------------------
    watcher = _page(new_context, viewer, base_url)
    watcher.goto("/")
    watcher.locator(".feed-tabs").get_by_role("link", name="Live").click()
    card = watcher.locator(f'[data-live-card="{live.pk}"]')
    expect(card).to_contain_text("Sunday jam")
    screenshot(watcher, "live-tab-phone", copy_to=SHOTS)
    card.click()
    video = watcher.locator("[data-live-video]")
    watcher.wait_for_function(PLAYING_JS, arg=video.element_handle(), timeout=45_000)
    expect(watcher.locator("[data-live-overlay]")).to_be_hidden()
    # at the live edge: within a few seconds of the newest media hls.js knows
    behind = watcher.evaluate("""(video) => {
      const end = video.buffered.length ? video.buffered.end(video.buffered.length - 1) : 0;
      return end - video.currentTime; }""", video.element_handle())
    assert behind < 6, f"{behind:.1f} s behind the buffered live edge"

    # --- the host's own player page: chat and controls ------------------------------------
    stage = _page(new_context, creator, base_url, viewport=DESKTOP, touch=False)
    stage.goto(f"/live/{live.pk}")
    stage.wait_for_function(PLAYING_JS, arg=stage.locator("[data-live-video]").element_handle(),
                            timeout=45_000)
    expect(watcher.locator("[data-viewer-count]")).not_to_have_text("0", timeout=15_000)

    # the viewer chats: their line at once, the host's page through the room
    watcher.get_by_label("Say something").fill("hello from the phone")
    watcher.get_by_role("button", name="Send", exact=True).click()
    expect(watcher.locator("[data-chat-list]")).to_contain_text("hello from the phone")
    line = stage.locator("[data-chat-list] li", has_text="hello from the phone")
    expect(line).to_contain_text("sam")

    # a link is refused in words, and the text is given back to fix
    watcher.get_by_label("Say something").fill("see https://spam.example")
    watcher.get_by_role("button", name="Send", exact=True).click()
    expect(watcher.locator("[data-chat-status]")).to_contain_text("link", ignore_case=True)
    expect(watcher.get_by_label("Say something")).to_have_value("see https://spam.example")
    watcher.get_by_label("Say something").fill("")

    # the host pins it: everyone's pinned banner
    line.get_by_role("button", name="Actions for sam's message").click()
    stage.get_by_role("menuitem", name="Pin").click()
    expect(watcher.locator("[data-pinned]")).to_contain_text("hello from the phone")

    # likes: taps float hearts and reach the host's count
    for _ in range(3):
        watcher.get_by_role("button", name="Like", exact=True).click()
    expect(stage.locator("[data-like-count]")).to_have_text("3", timeout=10_000)

    # a gift: the picker with the balance, the animation and the line on both pages
    watcher.get_by_role("button", name="Send a gift").click()
    sheet = watcher.locator("[data-gift-sheet]")
    expect(sheet.locator("[data-gift-balance]")).to_have_text("70")
    screenshot(watcher, "live-gift-sheet-phone", copy_to=SHOTS)
    sheet.locator("button[data-gift-id]").first.click()
    expect(sheet.locator("[data-gift-status]")).to_contain_text("sent to @maya")
    sent_balance = int(sheet.locator("[data-gift-balance]").inner_text().replace(",", ""))
    assert sent_balance < 70
    sheet.get_by_role("button", name="Close").click()
    expect(stage.locator("[data-chat-list]")).to_contain_text("sam sent")
    expect(stage.locator("[data-live-page]")).to_have_attribute("data-gifts-shown", "1")
    screenshot(watcher, "live-player-phone", copy_to=SHOTS)
    screenshot(stage, "live-player-host-desktop", copy_to=SHOTS)

    # --- the end: the host ends it, the viewer's page says so, the end screen ------------
    stage.get_by_role("button", name="Host controls").click()
    screenshot(stage, "live-host-controls-desktop", copy_to=SHOTS)
    stage.get_by_role("button", name="End the live").click()
    stage.wait_for_url(f"**/studio/live/{live.pk}")
    expect(stage.get_by_role("heading", name="Your live has ended")).to_be_visible()
    expect(watcher.locator("[data-overlay-title]")).to_have_text("This live has ended",
                                                                 timeout=15_000)
    expect(watcher.get_by_label("Say something")).to_be_disabled()
    screenshot(watcher, "live-ended-phone", copy_to=SHOTS)
    expect(stage.locator('[data-stat="likes"]')).to_have_text("3")
    stage.get_by_role("button", name="Save the replay").click()
    expect(stage.get_by_text("Your replay is being made")).to_be_visible()
    screenshot(stage, "live-end-screen-desktop", copy_to=SHOTS)
    live.refresh_from_db()
    assert live.state == LiveStream.State.ENDED
    assert live.save_replay
    assert live.gift_coins > 0
    encoder.terminate()
    assert not page_errors.uncaught, page_errors.uncaught

