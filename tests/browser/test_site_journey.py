"""The site beside the feed, in headless Chromium against the real ASGI server and worker:
sign up through allauth's page, upload a generated clip through the upload page (tus, with
an interrupted request resumed from the server's offset), watch processing over the
websocket until the video is ready, publish, find it on the profile grid, and play the
permalink signed out. Screenshots of each page go to var/artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.contrib.sessions.backends.cached_db import SessionStore
from playwright.sync_api import BrowserContext, Page, Request, Route, expect

from apps.accounts.models import User
from apps.content.models import Hashtag, Post
from tests.browser.conftest import DESKTOP, PageErrors, screenshot
from tests.factories import UserFactory
from tests.media.conftest import make_clip, wait_for

PROCESSING_TIMEOUT_MS = 240_000


def _email_code(context: BrowserContext) -> str:
    """The verification code allauth e-mailed. The e-mail went to the server process's
    in-memory outbox, out of our reach; the code is also kept in the server-side session
    (allauth's `account_email_verification_code` state), which we can read."""
    session_key = next(c["value"] for c in context.cookies() if c["name"] == "sessionid")
    state = SessionStore(session_key=session_key).load()["account_email_verification_code"]
    return str(state["code"])


def _sign_up(page: Page, *, username: str, email: str) -> None:
    page.goto("/accounts/signup/")
    expect(page.get_by_role("heading", name="Sign up")).to_be_visible()
    screenshot(page, "site-signup")
    page.fill('input[name="email"]', email)
    page.fill('input[name="username"]', username)
    page.fill('input[name="password1"]', "a-long-Secret-42!")
    page.fill('input[name="password2"]', "a-long-Secret-42!")
    page.fill('input[name="date_of_birth"]', "1994-03-12")
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))
    screenshot(page, "site-signup-confirm-code")
    page.fill('input[name="code"]', _email_code(page.context))
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)


def _failed_responses(page: Page) -> list[str]:
    """Every 4xx/5xx the page's requests got (the console names none of them)."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.request.method} {r.url}")
            if r.status >= 400 else None)
    return failed


def _no_page_errors(errors: PageErrors, failed: list[str] | None = None) -> None:
    """No uncaught exception, no console error, no 4xx/5xx answer. Chromium's "Failed to
    load resource" lines name no URL (the favicon is one), so answers are checked by URL
    instead, and the request the test cut off on purpose never got one."""
    assert errors.uncaught == []
    console = [m for m in errors.console if not m.startswith("Failed to load resource")]
    assert console == []
    assert [*(failed or []), *getattr(errors, "failed_requests", [])] == []


@pytest.mark.timeout(900)
def test_sign_up_upload_publish_and_watch(
        new_context: Callable[..., BrowserContext], tmp_path: Path,
        page_errors: PageErrors) -> None:
    Hashtag.objects.create(name="hello", posts_count=3)
    UserFactory(username="buddy", display_name="Buddy")
    context = new_context()
    page = context.new_page()
    failed = _failed_responses(page)

    # --- sign up ------------------------------------------------------------------------------
    _sign_up(page, username="newcreator", email="newcreator@example.com")
    me = User.objects.get(username="newcreator")
    assert EmailAddress.objects.filter(user=me, verified=True).exists()

    # --- upload, with the first PATCH interrupted after the server took it --------------------
    page.goto("/upload")
    expect(page.get_by_role("heading", name="Upload video")).to_be_visible()
    screenshot(page, "site-upload-empty")
    patches: list[int] = []
    heads: list[str] = []

    def tus(route: Route, request: Request) -> None:
        if request.method == "PATCH":
            patches.append(int(request.headers["upload-offset"]))
            if len(patches) == 1:
                route.fetch()  # the server appends the bytes ...
                route.abort("connectionreset")  # ... but the answer never arrives
                return
        elif request.method == "HEAD":
            heads.append(request.url)
        route.continue_()

    page.route(re.compile(r".*/api/v1/media/uploads/[^/?]+$"), tus)
    clip = make_clip(tmp_path / "my-first-clip.mp4", seconds=2.5)
    page.set_input_files("#file-input", str(clip))
    status = page.locator("[data-upload-status]")
    expect(page.locator("[data-file-name]")).to_contain_text("my-first-clip.mp4")

    # --- the caption editor, while the video processes -----------------------------------------
    caption = page.locator("#caption")
    caption.click()
    caption.press_sequentially("My first clip #hel")
    expect(page.get_by_role("option", name=re.compile("#hello"))).to_be_visible()
    screenshot(page, "site-upload-hashtag-suggestions", full_page=True)
    caption.press("Enter")
    caption.press_sequentially("with @bud")
    expect(page.get_by_role("option", name=re.compile("Buddy"))).to_be_visible()
    caption.press("Enter")
    expect(caption).to_have_value("My first clip #hello with @buddy ")
    page.select_option("#visibility", "public")
    page.get_by_label("No one").check()

    # processing, live over the websocket, until ready
    expect(status).to_have_attribute("data-state", re.compile("validating|processing|ready"),
                                     timeout=PROCESSING_TIMEOUT_MS)
    screenshot(page, "site-upload-processing", full_page=True)
    expect(status).to_have_attribute("data-state", "ready", timeout=PROCESSING_TIMEOUT_MS)
    assert status.get_attribute("data-transport") == "websocket"
    assert len(patches) == 1, patches  # resumed from the server's offset, nothing re-sent
    assert len(heads) >= 2, heads  # the first offset, and the one asked after the failure
    frames = page.locator("[data-cover-frames] [role=radio]")
    expect(frames.first).to_be_visible(timeout=30_000)
    frames.last.click()
    expect(frames.last).to_have_attribute("aria-checked", "true")
    cover_ms = int(frames.last.get_attribute("data-ms") or "0")
    expect(page.locator("[data-preview-video]")).to_be_visible()
    screenshot(page, "site-upload-ready", full_page=True)

    # --- publish --------------------------------------------------------------------------
    page.get_by_role("button", name="Post", exact=True).click()
    posted = page.locator("[data-posted]")
    expect(posted).to_be_visible(timeout=30_000)
    screenshot(page, "site-upload-posted", full_page=True)
    post_id = posted.get_attribute("data-post-id")
    post = Post.objects.get(pk=int(post_id or 0))
    assert post.author_id == me.pk
    # Published at once, or held until moderation's checks of the upload are done.
    assert post.status in (Post.Status.PUBLISHED, Post.Status.REVIEWING)
    wait_for(lambda: Post.objects.filter(pk=post.pk, status=Post.Status.PUBLISHED).exists(),
             "the post to be published", seconds=PROCESSING_TIMEOUT_MS / 1000)
    post.refresh_from_db()
    assert post.caption == "My first clip #hello with @buddy "
    assert post.comment_policy == Post.CommentPolicy.OFF
    assert post.cover_time_ms == cover_ms
    assert {e["type"] for e in post.caption_entities} == {"hashtag", "mention"}

    # --- the profile grid has it ------------------------------------------------------------
    page.goto("/@newcreator")
    tile = page.locator(f'a.tile[href="/@newcreator/video/{post_id}"]')
    expect(tile).to_be_visible()
    # the tile shows the frame the creator picked, cut from the storyboard sprite
    expect(tile.locator(".tile-cover")).to_have_attribute("style", re.compile("storyboard.jpg"))
    screenshot(page, "site-profile-own")
    _no_page_errors(page_errors, failed)

    # --- the permalink plays for a signed-out visitor ---------------------------------------
    anonymous = new_context(viewport=DESKTOP, touch=False).new_page()
    anonymous.goto(f"/@newcreator/video/{post_id}")
    expect(anonymous.locator('meta[property="og:type"]')).to_have_attribute(
        "content", "video.other")
    anonymous.wait_for_function(
        "() => { const v = document.getElementById('post-player');"
        " return v && v.readyState >= 2 && v.currentTime > 0.2; }", timeout=30_000)
    assert anonymous.evaluate("() => !!window.Hls && window.Hls.isSupported()")
    # the signed-out watch is reported as a view
    expect(anonymous.locator("#post-player")).to_have_attribute("data-view-reported", "true")
    screenshot(anonymous, "site-post-permalink")
    anonymous.goto("/tag/hello")
    expect(anonymous.locator(f'a.tile[href="/@newcreator/video/{post_id}"]')).to_be_visible()
    screenshot(anonymous, "site-hashtag")
    anonymous.goto(f"/sound/{post.original_sound_id}")
    expect(anonymous.get_by_role("heading", name=re.compile("original sound"))).to_be_visible()
    screenshot(anonymous, "site-sound")
    anonymous.goto("/accounts/login/")
    screenshot(anonymous, "site-login")
    _no_page_errors(page_errors, failed)


def test_settings_revoke_another_session(
        new_context: Callable[..., BrowserContext], base_url: str,
        logged_in_page: Callable[..., Page], page_errors: PageErrors) -> None:
    from django.test import Client

    user = UserFactory(username="settled", bio="Trying things out")
    other = Client(HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 14) Chrome/130.0 Mobile")
    assert other.post("/accounts/login/", {"login": "settled",
                                           "password": "correct-horse-battery"}).status_code == 302
    assert other.get("/settings/account").status_code == 200

    page = new_context(viewport=DESKTOP, touch=False).new_page()
    page.goto("/accounts/login/")
    page.fill('input[name="login"]', "settled")
    page.fill('input[name="password"]', "correct-horse-battery")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)

    page.goto("/settings/account")
    page.get_by_label("Country").select_option("GB")  # a list of countries (issue 12 item 8)
    page.get_by_role("button", name="Save").first.click()
    expect(page.get_by_role("status").filter(has_text="saved")).to_be_visible()
    screenshot(page, "site-settings-account")
    user.refresh_from_db()
    assert user.country == "GB"

    page.goto("/settings/sessions")
    rows = page.locator("li.session")
    expect(rows).to_have_count(2)
    screenshot(page, "site-settings-sessions")
    page.get_by_role("button", name=re.compile("Log out this session")).click()
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("This browser")
    # the other device is signed out for real
    assert other.get("/settings/account").status_code == 302

    page.goto("/settings/privacy")
    screenshot(page, "site-settings-privacy")
    page.goto("/settings/blocked")
    screenshot(page, "site-settings-blocked")
    _no_page_errors(page_errors)


def test_a_private_account_approves_a_follow_request(
        logged_in_page: Callable[..., Page], new_context: Callable[..., BrowserContext],
        page_errors: PageErrors) -> None:
    owner = UserFactory(username="closefriends", is_private=True, bio="Friends only")
    fan = UserFactory(username="keenfan")
    fan_page = logged_in_page(fan)
    fan_page.goto("/@closefriends")
    expect(fan_page.get_by_role("heading", name="This account is private")).to_be_visible()
    screenshot(fan_page, "site-profile-private")
    fan_page.get_by_role("button", name="Follow", exact=True).click()
    expect(fan_page.get_by_role("button", name=re.compile("Follow request sent"))).to_be_visible()

    owner_page = logged_in_page(owner, viewport=DESKTOP, touch=False)
    owner_page.goto("/follow-requests")
    expect(owner_page.get_by_role("link", name=re.compile("keenfan"))).to_be_visible()
    screenshot(owner_page, "site-follow-requests")
    owner_page.get_by_role("button", name="Approve", exact=True).click()
    expect(owner_page.locator("li.person")).to_have_count(0)

    fan_page.goto("/@closefriends")
    following = fan_page.get_by_role("button", name=re.compile("Following @closefriends"))
    expect(following).to_be_visible()
    expect(fan_page.get_by_text("This account is private")).to_have_count(0)
    fan_page.goto("/@closefriends/followers")
    expect(fan_page.get_by_role("link", name=re.compile("keenfan"))).to_be_visible()
    screenshot(fan_page, "site-followers")
    _no_page_errors(page_errors)


@pytest.mark.parametrize("viewport", [None, DESKTOP], ids=["phone", "desktop"])
def test_use_this_sound_preselects_it_on_the_upload_page(
        logged_in_page: Callable[..., Page], viewport: dict[str, Any] | None,
        page_errors: PageErrors) -> None:
    from tests.content.factories import LibrarySoundFactory

    sound = LibrarySoundFactory(title="Night Drive", artist="The Synths")
    page = logged_in_page(UserFactory(), **({"viewport": viewport, "touch": False}
                                            if viewport else {}))
    page.goto(f"/sound/{sound.pk}")
    screenshot(page, f"site-sound-library-{'desktop' if viewport else 'phone'}")
    page.get_by_role("link", name="Use this sound").click()
    page.wait_for_url(re.compile(r"/upload\?sound="))
    expect(page.locator("#sound")).to_have_value(str(sound.pk))  # the post form's, not the studio's
    expect(page.get_by_label("Your video's own audio")).to_be_visible()
    screenshot(page, f"site-upload-with-sound-{'desktop' if viewport else 'phone'}")
    _no_page_errors(page_errors)


@pytest.mark.timeout(900)
def test_upload_with_a_library_sound_falls_back_to_polling_and_is_scheduled(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors) -> None:
    """No websocket (a proxy that does not pass upgrades): the page follows by polling. The
    post is scheduled in the browser's own time zone (Asia/Kolkata, UTC+5:30) and the
    server stores the same instant."""
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    from tests.content.factories import LibrarySoundFactory

    sound = LibrarySoundFactory(title="Backing Track")
    user = UserFactory(username="drafty")
    page = logged_in_page(user, viewport=DESKTOP, touch=False, timezone_id="Asia/Kolkata")
    failed = _failed_responses(page)
    page.route_web_socket(re.compile(r"/ws/media/assets/"), lambda ws: ws.close())
    page.goto(f"/upload?sound={sound.pk}")
    expect(page.locator("#sound")).to_have_value(str(sound.pk))  # the post form's, not the studio's
    page.get_by_label("Your video's own audio").select_option("duck")
    page.set_input_files("#file-input", str(make_clip(tmp_path / "later.mp4", seconds=2)))
    status = page.locator("[data-upload-status]")
    expect(status).to_have_attribute("data-state", "ready", timeout=PROCESSING_TIMEOUT_MS)
    assert status.get_attribute("data-transport") == "polling"

    at = (timezone.now() + timedelta(hours=2)).replace(second=0, microsecond=0)
    page.get_by_label("Schedule").check()
    page.get_by_label("Publish at (your local time)").fill(
        at.astimezone(ZoneInfo("Asia/Kolkata")).strftime("%Y-%m-%dT%H:%M"))
    page.get_by_label("Caption").fill("later today")
    screenshot(page, "site-upload-schedule", full_page=True)
    page.get_by_role("button", name="Schedule", exact=True).click()
    expect(page.locator("[data-posted]")).to_be_visible(timeout=30_000)
    expect(page.locator("[data-posted-title]")).to_have_text("Scheduled")
    post = Post.objects.get(author=user)
    assert (post.status, post.sound_id, post.sound_mix) == (
        Post.Status.SCHEDULED, sound.pk, "duck")
    assert post.scheduled_for == at

    # unpublished posts are the owner's Drafts tab, never the grid
    page.goto("/@drafty")
    expect(page.locator("a.tile")).to_have_count(0)
    page.goto("/@drafty/drafts")
    expect(page.locator(f'a.tile[href="/@drafty/video/{post.pk}"]')).to_contain_text("Scheduled")
    screenshot(page, "site-profile-drafts")
    _no_page_errors(page_errors, failed)


def test_an_interrupted_upload_resumes_after_a_reload_from_the_servers_offset(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors) -> None:
    """The connection dies after the first 1 MiB chunk; the page retries (asking HEAD for
    the offset each time), gives up, and after a reload the same file continues from
    1 MiB on the same upload. The bytes are not a video, so validation then rejects it,
    which the page says (and which costs the worker no transcoding)."""
    from apps.media.models import MediaAsset

    user = UserFactory(username="flaky")
    page = logged_in_page(user, viewport=DESKTOP, touch=False)
    source = tmp_path / "holiday.mp4"
    source.write_bytes(bytes(range(256)) * (10 * 1024))  # 2.5 MiB, 3 chunks
    opened: list[str] = []
    page.on("request", lambda r: opened.append(r.url)
            if r.method == "POST" and r.url.endswith("/api/v1/media/uploads") else None)

    def first_chunk_only(route: Route, request: Request) -> None:
        if request.method == "PATCH" and request.headers["upload-offset"] != "0":
            route.abort("internetdisconnected")
        else:
            route.continue_()

    upload_url = re.compile(r".*/api/v1/media/uploads/[^/?]+$")
    page.route(upload_url, first_chunk_only)
    page.goto("/upload")
    page.set_input_files("#file-input", str(source))
    expect(page.get_by_role("button", name="Retry upload")).to_be_visible(timeout=60_000)
    expect(page.locator("[data-state-text]")).to_contain_text("keeps failing")
    asset = MediaAsset.objects.get(owner=user)
    assert asset.upload_offset == 1024 * 1024
    screenshot(page, "site-upload-interrupted")

    page.unroute(upload_url)
    patches: list[int] = []
    page.on("request", lambda r: patches.append(int(r.headers["upload-offset"]))
            if r.method == "PATCH" else None)
    page.reload()
    page.set_input_files("#file-input", str(source))
    status = page.locator("[data-upload-status]")
    expect(status).to_have_attribute("data-state", "rejected", timeout=PROCESSING_TIMEOUT_MS)
    assert patches[0] == 1024 * 1024  # continued, not restarted
    assert len(opened) == 1  # the same upload: no second one was opened
    assert MediaAsset.objects.filter(owner=user).count() == 1
    expect(page.get_by_role("alert")).to_contain_text("can't be posted")
    expect(page.get_by_role("button", name="Choose another file")).to_be_visible()
    expect(page.get_by_role("button", name="Post")).to_be_disabled()
    screenshot(page, "site-upload-rejected")
    assert page_errors.uncaught == []
