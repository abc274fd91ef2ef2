"""The post's own page in headless Chromium (issue 12 items 2 and 5), against the real server
and worker: the share link `/p/<id>/` plays the video and previews with absolute URLs anyone
may fetch, "Watch more" continues into the feed from this post; a signed-in viewer likes,
comments, reads replies and shares there; Report works from the post page, a profile and a
comment (the post page's and the feed drawer's), with a confirmation in words and a report
row. Screenshots at phone 390x844 and desktop 1440x900 (var/artifacts/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from apps.accounts.models import User
from apps.comments import services as comment_services
from apps.comments.models import Comment
from apps.content.models import Post
from apps.engagement.models import Like, Share
from tests.browser.conftest import PageErrors, screenshot, seed_posts
from tests.factories import UserFactory
from tests.media.conftest import wait_for

WIDE = {"width": 1440, "height": 900}
PLAYING = """() => { const v = document.getElementById('post-player');
  return !!v && v.readyState >= 2 && v.currentTime > 0.2; }"""
FEED_PLAYING = """() => { const s = window.swipeme; const item = s && s.items[s.active];
  return !!item && item.video.readyState >= 2 && item.video.currentTime > 0.2; }"""


@pytest.fixture(scope="module")
def catalogue(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    creators = [UserFactory(username=name) for name in ("lander_a", "lander_b", "lander_c")]
    ids = seed_posts(tmp_path_factory.mktemp("post-page-clips"), creators, count=3, captions=[
        "Harbour at dusk #sea", "Colour bars #retro", "Test pattern #tv"])
    post = Post.objects.get(pk=int(ids[0]))
    # a thread with a reply, by people other than the viewers of these tests
    talker, answerer = UserFactory(username="talker"), UserFactory(username="answerer")
    top = comment_services.comment_create(author=talker, post=post, text="Lovely colours")
    comment_services.comment_create(author=answerer, post=post, text="Agreed!", parent=top)
    return {"creators": creators, "post_ids": ids, "comment": top}


def _meta(page: Page, key: str) -> str:
    found = page.locator(f'meta[property="{key}"], meta[name="{key}"]')
    return found.first.get_attribute("content") or ""


def _status_of(context: BrowserContext, url: str) -> int:
    # Absolute URLs name settings.SITE_URL; the live server listens elsewhere: same path.
    return context.request.get(urlsplit(url)._replace(scheme="", netloc="").geturl()).status


def test_the_share_link_plays_previews_and_leads_into_the_feed(
        catalogue: dict[str, Any], new_context: Callable[..., BrowserContext],
        page_errors: PageErrors) -> None:
    post_id = catalogue["post_ids"][0]
    phone = new_context()
    page = phone.new_page()
    page.goto(f"/p/{post_id}/")

    # it plays (through the shared player start-up), muted, with its caption and author
    page.wait_for_function(PLAYING, timeout=30_000)
    assert page.locator("#post-player").get_attribute("data-engine") in ("hls.js", "native")
    expect(page.get_by_text("Harbour at dusk")).to_be_visible()
    expect(page.locator("#post-author")).to_have_attribute("href", "/@lander_a")
    # link previews: absolute URLs a signed-out crawler can fetch
    image, video = _meta(page, "og:image"), _meta(page, "og:video")
    assert image.startswith("http://") and video.startswith("http://")  # noqa: PT018
    assert _meta(page, "og:video:type") == "video/mp4"
    assert _meta(page, "og:video:width") == "360"
    assert _meta(page, "twitter:card") == "summary_large_image"
    assert re.fullmatch(rf"http://[^/]+/@lander_a/video/{post_id}",
                        page.locator('link[rel="canonical"]').get_attribute("href") or "")
    crawler = new_context()
    assert _status_of(crawler, image) == 200
    assert _status_of(crawler, video) in (200, 206)
    screenshot(page, "post-landing-signed-out-phone", full_page=True)

    # a signed-out visitor who likes is asked to log in, and comes back here after
    page.locator("[data-post-like]").click()
    prompt = page.locator("[data-signin-prompt]")
    expect(prompt).to_be_visible()
    expect(prompt).to_contain_text("Log in to like this video.")
    expect(prompt.get_by_role("link", name="Log in")).to_have_attribute(
        "href", f"/accounts/login/?next=%2Fp%2F{post_id}%2F")
    assert Like.objects.filter(post_id=int(post_id)).count() == 0
    # the comments are there to read (with the reply), the form says to log in
    expect(page.get_by_text("Lovely colours")).to_be_visible()
    expect(page.get_by_role("link", name="Log in to comment")).to_be_visible()

    desktop = new_context(viewport=WIDE, touch=False).new_page()
    desktop.goto(f"/p/{post_id}/")
    desktop.wait_for_function(PLAYING, timeout=30_000)
    screenshot(desktop, "post-landing-signed-out-desktop")

    # "Watch more": the feed, this post first, then the rest
    desktop.get_by_role("link", name="Watch more videos").click()
    desktop.wait_for_url(re.compile(rf"/\?start={post_id}$"))
    desktop.wait_for_function(FEED_PLAYING, timeout=30_000)
    desktop.wait_for_function("() => window.swipeme.items.length >= 2")
    state = desktop.evaluate("""() => ({active: window.swipeme.active,
      ids: window.swipeme.items.map(i => i.post.id)})""")
    assert state["ids"][0] == post_id, state
    assert state["active"] == 0, state
    assert state["ids"].count(post_id) == 1, state  # the feed does not serve it twice
    desktop.keyboard.press("ArrowDown")
    desktop.wait_for_function(
        "(first) => window.swipeme.active === 1"
        " && window.swipeme.items[1].post.id !== first", arg=post_id)
    desktop.wait_for_function(FEED_PLAYING, timeout=30_000)
    assert page_errors.uncaught == []


def test_a_signed_in_viewer_likes_comments_reads_replies_and_shares(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    viewer = UserFactory(username="fan_on_page")
    post_id = catalogue["post_ids"][0]
    page = logged_in_page(viewer, viewport=WIDE, touch=False)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto(f"/@lander_a/video/{post_id}")
    page.wait_for_function(PLAYING, timeout=30_000)

    # like: the button says so, the count moves, the row exists
    like = page.locator("[data-post-like]")
    likes_before = int(page.locator('[data-count="likes"]').inner_text())
    like.click()
    expect(like).to_have_attribute("aria-pressed", "true")
    expect(like).to_contain_text("Liked")
    expect(page.locator('[data-count="likes"]')).to_have_text(str(likes_before + 1))
    expect(like).to_be_enabled()  # the request has been answered
    assert Like.objects.filter(user=viewer, post_id=int(post_id)).exists()

    # the thread: the reply is one click away
    thread = page.locator("#comments")
    thread.get_by_role("button", name="View 1 reply").click()
    expect(thread.get_by_text("Agreed!")).to_be_visible()
    # comment
    thread.get_by_label("Add a comment").fill("Great clip from the page")
    thread.get_by_role("button", name="Post", exact=True).click()
    expect(thread.locator(".comment-text", has_text="Great clip from the page")).to_be_visible()
    assert Comment.objects.filter(author=viewer, post_id=int(post_id),
                                  text="Great clip from the page").exists()
    # reply to the first comment
    thread.get_by_role("button", name="Reply to @talker").click()
    expect(thread.get_by_label("Add a comment")).to_have_value(re.compile(r"^@talker "))
    thread.get_by_label("Add a comment").press("End")
    thread.get_by_label("Add a comment").type("thanks")
    thread.get_by_role("button", name="Post", exact=True).click()
    expect(thread.locator(".replies .comment-text", has_text="thanks")).to_be_visible()
    assert Comment.objects.filter(author=viewer, parent=catalogue["comment"]).exists()

    # share: copy the link (a share is recorded, the count moves, the link is the share link)
    shares_before = Share.objects.filter(post_id=int(post_id)).count()
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("status").filter(has_text="Link copied").first).to_be_visible()
    page.wait_for_function(
        "() => document.querySelector('[data-count=\"shares\"]').textContent !== '0'")
    assert Share.objects.filter(post_id=int(post_id), user=viewer).count() == 1
    assert Share.objects.filter(post_id=int(post_id)).count() == shares_before + 1
    copied = page.evaluate("() => navigator.clipboard.readText()")
    assert copied.endswith(f"/p/{post_id}/")
    page.locator("#post-player").scroll_into_view_if_needed()
    screenshot(page, "post-page-signed-in-desktop", full_page=True)

    # a phone with the Web Share API: "Share…" hands the share link to the system sheet
    phone = logged_in_page(viewer)
    phone.add_init_script("navigator.share = async (data) => { window.__shared = data; };")
    phone.goto(f"/p/{post_id}/")
    phone.wait_for_function(PLAYING, timeout=30_000)
    expect(phone.locator("[data-post-like]")).to_have_attribute("aria-pressed", "true")
    phone.get_by_role("button", name="Share…").click()
    phone.wait_for_function("() => !!window.__shared")
    assert phone.evaluate("() => window.__shared.url").endswith(f"/p/{post_id}/")
    wait_for(lambda: Share.objects.filter(post_id=int(post_id), user=viewer,
                                          channel="other").exists(),
             "the share through the Web Share API to be recorded", seconds=15)
    # the lesson of the phone screenshot: under the video, what to do next is on screen
    like_box = phone.locator("[data-post-like]").bounding_box()
    assert like_box is not None
    assert like_box["y"] + like_box["height"] <= 844 - 64  # above the tab bar
    screenshot(phone, "post-page-signed-in-phone")
    screenshot(phone, "post-page-signed-in-phone-full", full_page=True)
    assert page_errors.uncaught == []


def _report_through_dialog(page: Page, *, heading: str, reason: str, shot: str) -> None:
    dialog = page.locator("#report-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=heading)).to_be_visible()
    dialog.get_by_label(reason).check()
    page.wait_for_timeout(300)  # the sheet has finished rising
    screenshot(page, shot)
    dialog.get_by_role("button", name="Send report").click()
    noun = heading.removeprefix("Report this ")
    expect(dialog.get_by_role("status")).to_have_text(
        f"Thanks for telling us. We will review this {noun}.")
    expect(dialog.get_by_role("button", name="Done")).to_be_focused()
    screenshot(page, f"{shot}-sent")
    dialog.get_by_role("button", name="Done").click()
    expect(dialog).to_be_hidden()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_report_from_the_post_page_a_profile_and_a_comment(
        viewport: str, catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    from apps.moderation.models import Report

    reporter: User = UserFactory()
    post_id = int(catalogue["post_ids"][1])
    options: dict[str, Any] = {} if viewport == "phone" else {"viewport": WIDE, "touch": False}
    page = logged_in_page(reporter, **options)

    # the post page
    page.goto(f"/p/{post_id}/")
    page.get_by_role("button", name="Report", exact=True).click()
    _report_through_dialog(page, heading="Report this video",
                           reason="Spam, scams and fake engagement",
                           shot=f"report-post-page-{viewport}")
    assert Report.objects.filter(reporter=reporter, target_type="post", target_id=post_id,
                                 policy="spam_scam").exists()
    # focus goes back to the button that opened it
    assert page.evaluate("() => document.activeElement.dataset.reportType") == "post"

    # a profile
    creator = catalogue["creators"][2]
    page.goto(f"/@{creator.username}")
    page.get_by_role("button", name="Report", exact=True).click()
    _report_through_dialog(page, heading="Report this account", reason="Hate speech and harassment",
                           shot=f"report-profile-{viewport}")
    assert Report.objects.filter(reporter=reporter, target_type="user",
                                 target_id=creator.pk).exists()

    # a comment on the post page
    comment: Comment = catalogue["comment"]
    page.goto(f"/p/{catalogue['post_ids'][0]}/")
    page.get_by_role("button", name="Report @talker's comment").click()
    _report_through_dialog(page, heading="Report this comment", reason="Hate speech and harassment",
                           shot=f"report-comment-{viewport}")
    assert Report.objects.filter(reporter=reporter, target_type="comment",
                                 target_id=comment.pk).exists()
    # a second report of the same comment is refused, in words
    page.get_by_role("button", name="Report @talker's comment").click()
    page.locator("#report-dialog").get_by_label("Something else").check()
    page.locator("#report-dialog").get_by_role("button", name="Send report").click()
    expect(page.locator("#report-dialog").get_by_role("status")).to_have_text(
        "You have already reported this; we are looking at it.")
    assert Report.objects.filter(reporter=reporter, target_type="comment").count() == 1
    # nobody is offered to report themselves
    page.goto(f"/@{reporter.username}")
    expect(page.get_by_role("button", name="Report", exact=True)).to_have_count(0)
    assert page_errors.uncaught == []


def test_report_a_comment_from_the_feeds_comment_drawer(
        catalogue: dict[str, Any], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    from apps.moderation.models import Report

    reporter: User = UserFactory()
    post_id = catalogue["post_ids"][0]
    page = logged_in_page(reporter)
    page.goto(f"/?start={post_id}")
    page.wait_for_function(FEED_PLAYING, timeout=30_000)
    assert page.evaluate("() => window.swipeme.items[window.swipeme.active].post.id") == post_id
    page.locator('.feed-item[data-index="0"] .comment').click()
    drawer = page.locator("#comments-drawer")
    drawer.get_by_role("button", name="Report @talker's comment").click()
    _report_through_dialog(page, heading="Report this comment", reason="Something else",
                           shot="report-comment-feed-drawer-phone")
    assert Report.objects.filter(reporter=reporter, target_type="comment",
                                 target_id=catalogue["comment"].pk).exists()
    # the drawer is still open under it, and closes as before
    expect(drawer).to_be_visible()
    page.keyboard.press("Escape")
    expect(drawer).to_be_hidden()
    assert page_errors.uncaught == []
