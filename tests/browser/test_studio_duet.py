"""Duet in the real browser against the real server and worker: a post's "Duet" action
opens the studio with the original loaded (the server's rule asked first), the creator
adds a clip and picks top and bottom, and the server's preview is that duet (decoded: the
original on top, the new clip below). A post whose creator does not allow duets is
refused in the server's words and nothing can be previewed. Screenshots on a phone and a
desktop (/tmp/shots-h7/)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.utils import timezone
from playwright.sync_api import Page, expect

from apps.content.models import Post
from apps.media import storage
from apps.media.models import MediaAsset
from apps.studio.models import Preview
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.studio.conftest import arrange_source, clip_file, frame_at, mean_rgb

SHOTS = Path("/tmp/shots-h7")


def _original(tmp_path: Path, **post: object) -> Post:
    """A public post of someone else, red, that plays (its MP4 where media keeps it)."""
    author = UserFactory()
    path = clip_file(tmp_path, "original", source="color=c=red", seconds=2.0, size="360x640")
    asset = arrange_source(author, path, seconds=2.0, size="360x640")
    shutil.copyfile(path, storage.asset_dir(asset.pk) / "video.mp4")
    MediaAsset.objects.filter(pk=asset.pk).update(outputs={"mp4": "video.mp4"},
                                                  playable_at=timezone.now())
    return PostFactory(author=author, asset=asset, **post)


def test_the_duet_action_opens_the_studio_with_the_original_and_previews_the_duet(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors) -> None:
    me = UserFactory()
    original = _original(tmp_path)
    refused = PostFactory(author=original.author, asset=MediaAsset.objects.create(
        owner=original.author, state=MediaAsset.State.READY, duration_ms=2000, width=360,
        height=640, playable_at=timezone.now()), allow_duet=False)
    name = original.author.username

    # on a phone: the studio opened straight from a link, the original loaded beside its
    # choices, nothing spilling out of the screen
    phone = logged_in_page(me, viewport=PHONE)
    phone.goto(f"/upload?duet={original.pk}")
    panel = phone.locator("[data-remix-panel]")
    expect(panel.locator("[data-remix-title]")).to_have_text(f"Duet with @{name}")
    expect(panel.get_by_label("Layout")).to_be_visible()
    phone.wait_for_function(
        "() => document.querySelector('[data-remix-video]').readyState >= 2", timeout=30_000)
    assert phone.evaluate("document.documentElement.scrollWidth <= innerWidth")
    box = panel.bounding_box()
    assert box
    assert box["x"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    screenshot(phone, "duet-editor-phone", full_page=True, copy_to=SHOTS)
    # a post that does not allow duets: the server's words, and no preview possible
    phone.goto(f"/upload?duet={refused.pk}")
    expect(phone.locator("[data-remix-status]")).to_have_text(
        f"@{name} doesn't allow this video to be dueted.")
    expect(phone.get_by_role("button", name="Preview")).to_be_disabled()

    # on a desktop, from the post's page
    page = logged_in_page(me, viewport=DESKTOP)
    page.goto(f"/@{name}/video/{original.pk}")
    page.get_by_role("link", name="Duet", exact=True).click()
    page.wait_for_url(f"**/upload?duet={original.pk}")
    expect(page.locator("[data-studio]")).to_be_visible()
    expect(page.locator("[data-remix-title]")).to_have_text(f"Duet with @{name}")
    page.get_by_label("Layout").select_option("top_bottom")
    own = clip_file(tmp_path, "own", source="color=c=blue", seconds=2.0, size="360x640")
    page.set_input_files("[data-studio-files]", str(own))
    expect(page.locator("[data-clip-status]")).to_have_text("Ready to edit.", timeout=120_000)
    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-result-video]")).to_be_visible(timeout=120_000)
    preview = Preview.objects.get(owner=me)
    assert preview.document["version"] == 2
    assert preview.document["source"] == {"kind": "duet", "post_id": str(original.pk),
                                          "layout": "top_bottom"}
    frame = frame_at(Path(settings.MEDIA_ROOT) / preview.file, 1.0)
    top, bottom = mean_rgb(frame, (0.3, 0.1, 0.7, 0.4)), mean_rgb(frame, (0.3, 0.6, 0.7, 0.9))
    assert top[0] > 180, top  # the original, red, on top
    assert top[2] < 60, top
    assert bottom[2] > 180, bottom  # the new clip, blue, below
    assert bottom[0] < 60, bottom
    screenshot(page, "duet-preview-desktop", full_page=True, copy_to=SHOTS)
    assert not page_errors.uncaught
