"""A sped-up clip's sound in the studio editor, in the real browser against the real server
and worker: at 2x the voice keeps its pitch unless "Keep the voice's pitch" is unticked,
then it moves up like tape; the choice reaches the document (`keep_pitch`) and the
preview's sound (decoded: a 440 Hz tone comes out at 880 Hz)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from django.conf import settings
from playwright.sync_api import Page, expect

from apps.studio.models import Preview
from tests.browser.conftest import DESKTOP, PageErrors
from tests.factories import UserFactory
from tests.media.conftest import make_clip
from tests.studio.conftest import dominant_hz


def test_a_sped_up_clip_keeps_or_moves_its_pitch_as_chosen(
        logged_in_page: Callable[..., Page], tmp_path: Path, page_errors: PageErrors) -> None:
    me = UserFactory()
    page = logged_in_page(me, viewport=DESKTOP)
    page.goto("/upload")
    page.get_by_role("button", name="Edit several clips in the studio").click()
    expect(page.locator("[data-studio]")).to_have_attribute("data-ready", "true")
    # a 440 Hz tone (make_clip's sine) for 3 s
    page.set_input_files("[data-studio-files]", str(make_clip(tmp_path / "tone.mp4", seconds=3)))
    expect(page.locator("[data-clip-status]")).to_have_text("Ready to edit.", timeout=120_000)
    keep = page.get_by_label("Keep the voice's pitch")
    expect(keep).to_be_hidden()  # at 1x there is nothing to choose
    page.get_by_label("Speed").select_option("2")
    expect(keep).to_be_visible()
    expect(keep).to_be_checked()
    keep.uncheck()

    page.get_by_role("button", name="Preview").click()
    expect(page.locator("[data-result-video]")).to_be_visible(timeout=120_000)
    preview = Preview.objects.get(owner=me)
    clip = preview.document["clips"][0]
    assert (clip["speed"], clip["keep_pitch"]) == (2.0, False)
    tape = Path(settings.MEDIA_ROOT) / preview.file
    assert dominant_hz(tape, 0.1, 1.3) == pytest.approx(880, abs=20)

    # ticked again: the next preview keeps the tone's pitch at the same speed
    keep.check()
    page.get_by_role("button", name="Preview").click()
    kept = None
    for _ in range(240):  # the second preview rendered by the worker
        kept = Preview.objects.exclude(pk=preview.pk).filter(owner=me).first()
        if kept is not None and kept.state in (Preview.State.DONE, Preview.State.FAILED):
            break
        page.wait_for_timeout(500)
    assert kept is not None
    assert kept.state == Preview.State.DONE, kept.state_reason
    assert kept.document["clips"][0]["keep_pitch"] is True
    assert dominant_hz(Path(settings.MEDIA_ROOT) / kept.file, 0.1, 1.3) == pytest.approx(
        440, abs=12)
    assert not page_errors.uncaught
