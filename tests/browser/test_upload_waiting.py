"""The upload page while the video waits and is processed (issue 12 item 3): the chosen file
plays at once (a local preview) and its frames make the cover picker before the server has
processed anything; the status says in words where the upload stands ("Waiting — 2 uploads
ahead, about 40 s", then "Processing — 25 %"), never a silent 0 % bar; the cover chosen
from the local file is the post's cover time. Screenshots on a phone and a desktop."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.content.models import Post
from apps.media import services, storage
from apps.media.models import MediaAsset, ProcessingStep
from tests.browser.conftest import PHONE, PageErrors, screenshot
from tests.factories import UserFactory
from tests.media.conftest import make_clip, wait_for


def _off_loop(step: Callable[..., str], **kwargs: object) -> str:
    """Run a media step as a worker would: off this thread, where Playwright's event loop
    runs and the step's websocket push (async_to_sync) would be refused. The page follows
    the asset on its websocket (it polls only when the socket closes), so the push must go."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(step, **kwargs).result()

SHOTS = Path("/tmp/shots-h4")
DESKTOP = {"width": 1440, "height": 900}


@pytest.fixture
def media_queue_paused(celery_worker_process: object) -> Iterator[None]:
    """The session's worker stops taking user uploads, so this test decides when the
    upload is processed (it runs the real steps itself)."""
    from celery import current_app

    def nodes() -> list[str]:
        return [node for reply in current_app.control.ping(timeout=1.0) or []
                for node in reply if node.startswith("test@")]

    wait_for(lambda: bool(nodes()), "the session worker to answer", seconds=300)
    node = nodes()[0]
    current_app.control.cancel_consumer("media", destination=[node], reply=True)
    yield
    current_app.control.add_consumer("media", destination=[node], reply=True)


def _ahead_and_measured() -> list[MediaAsset]:
    """Two uploads of others ahead in the user queue, and two recent ones that took 20 s
    of worker time each (the measurement the estimate uses)."""
    now = timezone.now()
    ahead = [MediaAsset.objects.create(owner=UserFactory(), state="uploaded",
                                       queued_at=now - timedelta(seconds=30 - i))
             for i in range(2)]
    for _ in range(2):
        done = MediaAsset.objects.create(owner=UserFactory(), state="ready", ready_at=now,
                                         queued_at=now - timedelta(minutes=3))
        ProcessingStep.objects.create(asset=done, name="rendition-240", state="done",
                                      started_at=now - timedelta(seconds=60),
                                      finished_at=now - timedelta(seconds=40))
    return ahead


def _shoot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = screenshot(page, name, full_page=True)
    (SHOTS / path.name).write_bytes(path.read_bytes())


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_preview_cover_and_place_in_line_before_processing(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors,
        media_queue_paused: None, viewport: dict[str, int]) -> None:
    me = UserFactory()
    ahead = _ahead_and_measured()
    page = logged_in_page(me, viewport=viewport)
    kind = "phone" if viewport == PHONE else "desktop"
    page.goto("/upload")
    clip = make_clip(tmp_path / "my-clip.mp4", seconds=4)
    page.set_input_files("#file-input", str(clip))

    # waiting: the place in line and the estimate, in words; the bar moves (indeterminate)
    status = page.locator("[data-state-text]")
    expect(status).to_have_text(re.compile(r"^Waiting — 2 uploads ahead, about \d+ s$"),
                                timeout=30_000)
    assert page.locator("[data-processing-progress]").get_attribute("value") is None
    # the file itself plays, and its frames make the cover picker, before any processing
    preview = page.locator("[data-preview]")
    expect(preview).to_be_visible()
    assert preview.get_attribute("data-source") == "local"
    assert page.locator("[data-preview-video]").evaluate(
        "v => v.src.startsWith('blob:') && v.readyState >= 1")
    frames = page.get_by_role("radio", name=re.compile(r"^Frame at "))
    expect(frames).to_have_count(8)
    assert page.locator("[data-cover-picker]").get_attribute("data-source") == "local"
    # frames are real pictures of the clip (a drawn canvas, not a blank)
    assert "data:image/jpeg" in (frames.nth(0).get_attribute("style") or "")
    chosen = frames.nth(5)
    chosen.click()
    expect(chosen).to_have_attribute("aria-checked", "true")
    cover_ms = int(chosen.get_attribute("data-ms") or "-1")
    assert 2000 < cover_ms < 4000
    asset = MediaAsset.objects.get(owner=me)
    assert asset.state == "uploaded"  # nothing processed yet
    assert asset.progress == 0
    _shoot(page, f"upload-waiting-{kind}")

    # the uploads ahead finish: next in line (the page re-reads its place by itself)
    MediaAsset.objects.filter(pk__in=[a.pk for a in ahead]).update(state="ready")
    expect(status).to_have_text(re.compile(r"^Waiting — next in line"), timeout=15_000)

    # processing, for real: validation, then the lowest rendition makes it playable
    assert _off_loop(services.asset_process, asset_id=asset.pk, task_id="t-validate") == "planned"
    assert _off_loop(services.asset_step_run, asset_id=asset.pk, name="rendition-240",
                                   task_id="t-240") == "done"
    expect(status).to_have_text(re.compile(r"^Processing — \d+ % — already playable$"),
                                timeout=15_000)
    value = page.locator("[data-processing-progress]").get_attribute("value")
    assert value is not None
    assert int(float(value)) > 0
    _shoot(page, f"upload-processing-{kind}")

    # the post goes with the cover picked from the local file, while processing goes on
    page.get_by_role("button", name="Post").click()
    expect(page.locator("[data-posted]")).to_be_visible()
    post = Post.objects.get(author=me)
    assert post.cover_time_ms == cover_ms

    for step in ProcessingStep.objects.filter(asset=asset, state="pending").order_by("id"):
        _off_loop(services.asset_step_run, asset_id=asset.pk, name=step.name,
                  task_id=f"t-{step.name}")
    expect(status).to_have_text("Ready.", timeout=30_000)
    expect(page.locator("[data-processing-progress]")).to_have_attribute("value", "100")
    # posted: the cover is chosen, the picker no longer offered
    expect(page.locator("[data-cover-picker]")).to_be_hidden()
    _shoot(page, f"upload-ready-{kind}")
    assert page_errors.uncaught == []
    storage.remove_asset_files(asset.pk)
