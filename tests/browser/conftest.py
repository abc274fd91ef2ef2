"""Browser fixtures: Debian's headless Chromium driven by Playwright for Python, against the
real ASGI server (`live_asgi_server`: uvicorn + Channels, static files through WhiteNoise)
and, for media, the real Celery worker (`celery_worker_process`).

How the database works here: the server is another process, so every row a browser test
needs must be committed. Browser modules therefore do not use pytest-django's `db` /
`transactional_db`; `browser_db` (module scope, autouse) unblocks the database for the
whole module, rows are committed as they are written, and the module ends with a flush
(the same state a transactional test leaves). That lets one module share a catalogue of
real, processed posts (`seed_posts`) instead of transcoding per test.

Playwright's sync API runs an asyncio loop in this thread, which Django's async-safety
check would take for an async context; `browser_db` allows the ORM in *this* process only,
after the server and worker subprocesses have started (they never see the flag).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from playwright.sync_api import Browser, BrowserContext, Page
from rest_framework.test import APIClient

# The session-scoped fixtures (`browser_test_database`, `playwright_driver`, `browser`) live
# in tests/conftest.py: one Playwright driver per session for every browser test directory.
from tests.conftest import (  # noqa: F401 - CHROMIUM_ARGS is re-exported for bench/
    CHROMIUM,
    CHROMIUM_ARGS,
    ROOT,
    _on_test_database,
    _wait_for_idle_worker,
    _wait_for_other_db_sessions_to_finish,
)
from tests.media.conftest import make_clip, upload_file, wait_for

ARTIFACTS = ROOT / "var" / "artifacts"
SCREENSHOTS = ARTIFACTS / "screenshots"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1440, "height": 900}  # the desktop size for every screenshot


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="module", autouse=True)
def browser_db(browser_test_database: None, django_db_blocker: Any, live_asgi_server: str,
               celery_worker_process: Any) -> Iterator[None]:
    """Committed rows for the whole module, flushed at its end (see the module doc)."""
    assert _on_test_database(), "browser tests must run on the test database"
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with django_db_blocker.unblock():
            yield
            from django.core.management import call_command

            _wait_for_idle_worker()
            _wait_for_other_db_sessions_to_finish()
            assert _on_test_database()
            call_command("flush", verbosity=0, interactive=False)
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def base_url(live_asgi_server: str) -> str:
    return live_asgi_server


@dataclass
class PageErrors:
    """Uncaught exceptions and console errors a page produced (tests assert on them)."""

    uncaught: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("pageerror", lambda exc: self.uncaught.append(str(exc)))
        page.on("console", lambda msg: self.console.append(msg.text)
                if msg.type == "error" else None)
        page.on("response", lambda r: self.failed_requests.append(f"{r.status} {r.url}")
                if r.status >= 400 else None)


@pytest.fixture
def page_errors() -> PageErrors:
    return PageErrors()


@pytest.fixture
def new_context(browser: Browser, base_url: str,
                page_errors: PageErrors) -> Iterator[Callable[..., BrowserContext]]:
    """Make a browser context (own cookies); phone-sized with touch unless told otherwise.
    Every page opened in it reports its errors to `page_errors`."""
    made: list[BrowserContext] = []

    def make(*, viewport: dict[str, int] | None = None, touch: bool = True,
             **options: Any) -> BrowserContext:
        context = browser.new_context(
            base_url=base_url, viewport=viewport or PHONE,  # type: ignore[arg-type]
            has_touch=touch, is_mobile=False, reduced_motion="no-preference", **options)
        context.set_default_timeout(15_000)
        context.on("page", page_errors.watch)
        made.append(context)
        return context

    yield make
    for context in made:
        context.close()


@pytest.fixture
def page(new_context: Callable[..., BrowserContext]) -> Page:
    """An anonymous phone-sized page."""
    return new_context().new_page()


def log_in(context: BrowserContext, user: Any, base_url: str) -> None:
    """Give the browser context a real Django session for `user` (no form round-trip)."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"]
    context.add_cookies([{"name": "sessionid", "value": cookie.value, "url": base_url,
                          "httpOnly": True, "sameSite": "Lax"}])


@pytest.fixture
def logged_in_page(new_context: Callable[..., BrowserContext],
                   base_url: str) -> Callable[..., Page]:
    """`logged_in_page(user, **context_options)` → a page whose context is signed in."""

    def make(user: Any, **options: Any) -> Page:
        context = new_context(**options)
        log_in(context, user, base_url)
        return context.new_page()

    return make


def screenshot(page: Page, name: str, *, full_page: bool = False,
               copy_to: Path | None = None) -> Path:
    """Save a screenshot under var/artifacts/screenshots/ (gitignored) and return its path;
    also into `copy_to` (a folder) when given."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', name)}.png"
    page.screenshot(path=str(path), full_page=full_page)
    if copy_to is not None:
        copy_to.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, copy_to / path.name)
    return path


# --- a catalogue of real posts ----------------------------------------------------------

CLIP_SOURCES = ("testsrc2", "smptehdbars", "rgbtestsrc", "pal75bars", "yuvtestsrc",
                "testsrc")


def seed_posts(tmp_dir: Path, authors: list[Any], *, count: int | None = None,
               seconds: float = 2.5, captions: list[str] | None = None,
               ready: bool = True) -> list[str]:
    """Upload generated clips (360x640, a few seconds, one lavfi pattern each) through the
    real tus upload and worker pipeline, publish one post per clip (author i gets clip i,
    round-robin), wait until they are published (and `ready`: every rendition, poster and
    storyboard), and return the post ids, oldest first."""
    from apps.content.models import Post

    count = count if count is not None else len(authors)
    ids: list[str] = []
    for index in range(count):
        author = authors[index % len(authors)]
        source = CLIP_SOURCES[index % len(CLIP_SOURCES)]
        clip = make_clip(tmp_dir / f"clip-{index}.mp4", seconds=seconds, video_source=source)
        client = APIClient()
        client.force_authenticate(author)
        asset_id = upload_file(client, clip)
        caption = (captions[index] if captions and index < len(captions)
                   else f"Clip {index + 1} #swipeme #{source}")
        response = client.post("/api/v1/posts", {"asset_id": asset_id, "publish": "now",
                                                 "caption": caption}, format="json")
        assert response.status_code == 201, response.content
        ids.append(str(response.json()["id"]))

    def done() -> bool:
        posts = Post.objects.filter(pk__in=[int(i) for i in ids]).select_related("asset")
        return len(posts) == len(ids) and all(
            p.status == Post.Status.PUBLISHED
            and (p.asset.state == "ready" if ready else p.asset.playable_at is not None)
            for p in posts)

    wait_for(done, f"{count} seeded posts to be published", seconds=240)
    return ids
