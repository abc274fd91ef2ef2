"""A comment or a report whose request COMMITTED but whose answer was lost (a 503 while
PostgreSQL restarts, issue 24) is retried by the web client and lands once: the comment
with the same Idempotency-Key (the server answers with the comment it made), the report
through its one-open-report-per-target rule. Before, the comment composer showed an error
and a second Post made a second comment; the report dialog said it could not be sent."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from apps.comments.models import Comment
from apps.content.models import Post
from apps.moderation.models import Report
from tests.browser.conftest import PageErrors, screenshot, seed_posts
from tests.factories import UserFactory
from tests.media.conftest import make_clip

WIDE = {"width": 1440, "height": 900}
SHOTS = Path("/tmp/shots-h6")
UNAVAILABLE = json.dumps({"error": {"code": "unavailable", "fields": {},
                                    "message": "SwipeMe is briefly unavailable; please retry "
                                               "shortly."}})


@pytest.fixture(scope="module")
def post_ids(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return seed_posts(tmp_path_factory.mktemp("write-once-clips"),
                      [UserFactory(username="once_creator")], count=2)


class AnswerLost:
    """The first POST reaches the server (which commits) but the browser gets a 503 +
    Retry-After instead of its answer; later ones pass. Records each request's headers."""

    def __init__(self, page: Page, pattern: str | re.Pattern[str]) -> None:
        self.headers: list[dict[str, str]] = []
        page.route(pattern, self.handle)

    def handle(self, route: Route) -> None:
        if route.request.method != "POST":
            route.continue_()
            return
        self.headers.append(route.request.headers)
        if len(self.headers) == 1:
            route.fetch()  # the write commits on the server...
            route.fulfill(status=503, body=UNAVAILABLE, content_type="application/json",
                          headers={"Retry-After": "1"})  # ...and its answer is lost
        else:
            route.continue_()


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_comment_whose_answer_was_lost_is_retried_and_posted_once(
        viewport: str, post_ids: list[str], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    viewer = UserFactory()
    post_id = int(post_ids[0])
    options: dict[str, Any] = {} if viewport == "phone" else {"viewport": WIDE, "touch": False}
    page = logged_in_page(viewer, **options)
    lost = AnswerLost(page, "**/api/v1/posts/*/comments")
    page.goto(f"/p/{post_id}/")

    thread = page.locator("#comments")
    thread.get_by_label("Add a comment").fill(f"Said once ({viewport})")
    thread.get_by_role("button", name="Post", exact=True).click()

    mine = thread.locator(".comment-text", has_text=f"Said once ({viewport})")
    expect(mine).to_have_count(1, timeout=15_000)
    expect(thread.locator(".form-error")).to_be_hidden()
    expect(thread.get_by_label("Add a comment")).to_have_value("")
    screenshot(page, f"comment-retried-once-{viewport}")
    assert len(lost.headers) == 2
    keys = {h.get("idempotency-key") for h in lost.headers}
    assert len(keys) == 1
    assert re.fullmatch(r"[0-9a-f-]{32,36}", keys.pop() or "")
    assert Comment.objects.filter(author=viewer, post_id=post_id).count() == 1

    # the next comment, even with the same words, is a new action with a new key
    thread.get_by_label("Add a comment").fill(f"Said once ({viewport})")
    thread.get_by_role("button", name="Post", exact=True).click()
    expect(mine).to_have_count(2, timeout=15_000)
    assert lost.headers[2]["idempotency-key"] != lost.headers[0]["idempotency-key"]
    assert Comment.objects.filter(author=viewer, post_id=post_id).count() == 2
    assert page_errors.uncaught == []


def test_a_report_whose_answer_was_lost_is_retried_and_thanked_once(
        post_ids: list[str], logged_in_page: Callable[..., Page],
        page_errors: PageErrors) -> None:
    reporter = UserFactory()
    post_id = int(post_ids[1])
    page = logged_in_page(reporter, viewport=WIDE, touch=False)
    lost = AnswerLost(page, "**/api/v1/reports")
    page.goto(f"/p/{post_id}/")

    page.get_by_role("button", name="Report", exact=True).click()
    dialog = page.locator("#report-dialog")
    dialog.get_by_label("Spam, scams and fake engagement").check()
    dialog.get_by_role("button", name="Send report").click()

    expect(dialog.get_by_role("status")).to_have_text(
        "Thanks for telling us. We will review this video.", timeout=15_000)
    screenshot(page, "report-retried-once-desktop")
    assert len(lost.headers) == 2
    assert Report.objects.filter(reporter=reporter, target_type="post",
                                 target_id=post_id).count() == 1
    assert page_errors.uncaught == []


@pytest.mark.parametrize("viewport", ["phone", "desktop"])
def test_a_post_whose_answer_was_lost_is_retried_and_made_once(
        viewport: str, logged_in_page: Callable[..., Page], page_errors: PageErrors,
        tmp_path: Path) -> None:
    # Before, the upload page showed the 503 and a second Post answered 409 "already
    # posted"; now it retries with the same Idempotency-Key and shows the post it made.
    me = UserFactory()
    options: dict[str, Any] = {} if viewport == "phone" else {"viewport": WIDE, "touch": False}
    page = logged_in_page(me, **options)
    lost = AnswerLost(page, re.compile(r".*/api/v1/posts$"))
    page.goto("/upload")
    page.set_input_files("#file-input", str(make_clip(tmp_path / "once.mp4", seconds=2)))
    submit = page.get_by_role("button", name="Post", exact=True)
    expect(submit).to_be_enabled(timeout=30_000)
    page.get_by_label("Caption").fill(f"Posted once ({viewport})")

    submit.click()

    panel = page.locator("[data-posted]")
    expect(panel).to_be_visible(timeout=15_000)
    expect(page.locator("[data-posted-title]")).to_have_text("Posted!")
    expect(page.get_by_role("alert")).to_have_count(0)
    shot = screenshot(page, f"post-retried-once-{viewport}", full_page=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    (SHOTS / shot.name).write_bytes(shot.read_bytes())
    assert len(lost.headers) == 2
    keys = {h.get("idempotency-key") for h in lost.headers}
    assert len(keys) == 1
    assert re.fullmatch(r"[0-9a-f-]{32,36}", keys.pop() or "")
    post = Post.objects.get(author=me)
    assert post.caption == f"Posted once ({viewport})"
    assert panel.get_attribute("data-post-id") == str(post.pk)
    assert page_errors.uncaught == []
