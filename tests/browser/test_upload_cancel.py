"""The upload page's "Cancel upload": with the upload in progress (its PATCH held), the
button stops sending and terminates the upload on the server (tus DELETE): the asset is
cancelled, its bytes gone, and the page is back at the file picker."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, Request, Route, expect

from apps.media import storage
from apps.media.models import MediaAsset
from tests.browser.conftest import DESKTOP, PageErrors
from tests.factories import UserFactory
from tests.media.conftest import make_clip


def test_cancel_an_upload_in_progress(logged_in_page: Callable[..., Page], tmp_path: Path,
                                      page_errors: PageErrors) -> None:
    me = UserFactory()
    page = logged_in_page(me, viewport=DESKTOP)
    methods: list[str] = []

    def tus(route: Route, request: Request) -> None:
        methods.append(request.method)
        if request.method == "PATCH" and methods.count("PATCH") > 1:
            return  # never answered: the upload stays in progress until cancelled
        route.continue_()

    page.route(re.compile(r".*/api/v1/media/uploads/[^/?]+$"), tus)
    page.goto("/upload")
    # over one 1 MiB chunk: the first arrives, the second is held
    clip = make_clip(tmp_path / "long-upload.mp4", size="720x1280", seconds=2)
    assert clip.stat().st_size > 1024 * 1024
    page.set_input_files("#file-input", str(clip))
    cancel = page.get_by_role("button", name="Cancel upload")
    expect(cancel).to_be_visible()
    for _ in range(150):  # pumping Playwright's loop (a sleep would stall the route)
        if MediaAsset.objects.filter(owner=me, upload_offset__gt=0).exists():
            break
        page.wait_for_timeout(200)
    asset = MediaAsset.objects.get(owner=me)
    assert asset.state == "uploading"
    assert storage.source_path(asset.pk).exists()

    cancel.click()

    expect(page.locator("[data-state-text]")).to_have_text("Upload cancelled.")
    expect(page.locator("[data-dropzone]")).to_be_visible()
    expect(cancel).to_be_hidden()
    assert "DELETE" in methods
    asset.refresh_from_db()
    assert asset.state == "failed"
    assert asset.state_reason == "The upload was cancelled."
    assert not storage.source_path(asset.pk).exists()
    assert page_errors.uncaught == []
