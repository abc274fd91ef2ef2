"""On-screen text read by OCR from the sampled frames (issue 25): real clips with text burned
in (Pillow draws it, ffmpeg encodes it, the media pipeline's own step samples the frames),
the real OCR engine (rapidocr), the real text heads and policy engine."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageDraw, ImageFont

from apps.content import services as content
from apps.content.models import Post
from apps.moderation.detection import ocr, services
from apps.moderation.detection.models import AssetCheck, Outcome, Scan
from apps.moderation.models import Case, EnforcementAction
from apps.moderation.policies import Policy
from tests.factories import UserFactory
from tests.moderation.detection.conftest import arrange_upload, still_clip
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("moderation_gate_live")]

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
HATE = ("Immigrants are vermin", "get them out")
HARMLESS = ("Sunday market haul", "peaches and bread")
SELF_HARM = ("I want to end my life",)


ARABIC_FONT = "/usr/share/fonts/truetype/kacst-one/KacstOne-Bold.ttf"  # fonts-kacst-one
# "Immigrants are insects / and must be driven out of the country" (the labelled set's hate)
ARABIC_HATE = ("المهاجرون حشرات", "ويجب طردهم من البلد")


def _text_clip(out: Path, lines: tuple[str, ...], *, arabic: bool = False) -> Path:
    """A 2-second clip of a busy gradient with white, black-outlined text on it (the way
    apps overlay text), so two frames are sampled."""
    img = Image.new("RGB", (360, 640))
    draw = ImageDraw.Draw(img)
    for y in range(640):
        draw.line([(0, y), (360, y)], fill=(40 + y // 5, 90, 200 - y // 4))
    font = ImageFont.truetype(ARABIC_FONT if arabic else FONT, 28)
    shaping: dict[str, Any] = {"direction": "rtl", "language": "ar"} if arabic else {}
    for i, line in enumerate(lines):
        width = draw.textlength(line, font=font, **shaping)
        draw.text(
            ((360 - width) / 2, 260 + 44 * i),
            line,
            font=font,
            fill=(255, 255, 255),
            stroke_width=3,
            stroke_fill=(0, 0, 0),
            **shaping,
        )
    still = out.with_suffix(".png")
    img.save(still)
    still_clip(still, out)
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("ocr")
    return {
        "hate": _text_clip(base / "hate.mp4", HATE),
        "harmless": _text_clip(base / "harmless.mp4", HARMLESS),
        "self_harm": _text_clip(base / "self_harm.mp4", SELF_HARM),
        "arabic_hate": _text_clip(base / "arabic_hate.mp4", ARABIC_HATE, arabic=True),
    }


def test_hateful_text_on_screen_holds_the_post_with_the_text_on_the_review_page(
    clips: dict[str, Path],
    moderator: Callable[..., Any],
    web_for: Callable[[Any], Any],
) -> None:
    author = UserFactory(language="en")
    asset = arrange_upload(author, clips["hate"])
    post = content.post_create(author=author, asset_id=asset.pk, caption="weekend vlog")
    services.asset_scan(asset_id=asset.pk)
    found = AssetCheck.objects.get(asset_id=asset.pk).features["ocr"]
    assert "vermin" in found["text"].lower()
    assert 1 <= len(found["frames"]) <= ocr.MAX_FRAMES
    post = Post.objects.get(pk=post.pk)
    assert post.status == Post.Status.REVIEWING  # held for a person; nothing removed
    case = Case.objects.get(target_type="post", target_id=post.pk)
    assert (case.source, case.policy) == ("automated", Policy.HATE_HARASSMENT)
    entry = case.evidence[-1]
    assert "vermin" in entry["ocr_text"].lower()
    assert "hate" in entry["ocr_categories"]
    assert any(
        d["source"] == "ocr:text_head:hate" and d["outcome"] == Outcome.REVIEW
        for d in entry["decisions"]
    )
    scan = Scan.objects.filter(target_type="asset", target_id=asset.pk).latest("id")
    assert "vermin" in scan.scores["ocr_text"].lower()
    assert scan.model_versions["ocr"].startswith("rapidocr-")
    html = web_for(moderator("Moderators")).get(f"/moderation/cases/{case.pk}/").content.decode()
    assert "On-screen text" in html
    assert "Immigrants are vermin" in html
    assert "ocr:text_head:hate" in html


def test_arabic_text_on_screen_is_read_and_held_like_any_other(clips: dict[str, Path]) -> None:
    """PP-OCR has no Arabic recogniser: the lines its detector finds but cannot read are read
    by Tesseract's Arabic model, and the text goes through the same heads."""
    author = UserFactory(language="ar")
    asset = arrange_upload(author, clips["arabic_hate"])
    post = content.post_create(author=author, asset_id=asset.pk, caption="")
    services.asset_scan(asset_id=asset.pk)
    found = AssetCheck.objects.get(asset_id=asset.pk).features["ocr"]
    assert "المهاجرون" in found["text"], found
    assert "+tesseract-" in ocr.model_version()
    assert Post.objects.get(pk=post.pk).status == Post.Status.REVIEWING
    case = Case.objects.get(target_type="post", target_id=post.pk)
    assert case.policy == Policy.HATE_HARASSMENT
    assert "المهاجرون" in case.evidence[-1]["ocr_text"]


def test_harmless_text_on_screen_is_read_and_published(clips: dict[str, Path]) -> None:
    author = UserFactory(language="en")
    asset = arrange_upload(author, clips["harmless"])
    post = content.post_create(author=author, asset_id=asset.pk, caption="market day")
    services.asset_scan(asset_id=asset.pk)
    assert "market" in AssetCheck.objects.get(asset_id=asset.pk).features["ocr"]["text"].lower()
    assert Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHED
    assert not Case.objects.filter(target_type="post", target_id=post.pk).exists()


def test_self_harm_on_screen_offers_support_resources_not_punishment(
    clips: dict[str, Path],
    django_capture_on_commit_callbacks: Callable[..., AbstractContextManager[Any]],
) -> None:
    author = UserFactory(language="en")
    asset = arrange_upload(author, clips["self_harm"])
    post = content.post_create(author=author, asset_id=asset.pk, caption="late night")
    with django_capture_on_commit_callbacks(execute=True):
        services.asset_scan(asset_id=asset.pk)
    run_notification_tasks()
    assert [n.type for n in inbox_of(author.pk)] == ["support_resources"]
    # a person looks (support), never a removal or an action against the author
    assert Post.objects.get(pk=post.pk).status == Post.Status.REVIEWING
    case = Case.objects.get(target_type="post", target_id=post.pk)
    assert case.policy == Policy.SELF_HARM
    assert "support resources" in case.evidence[-1]["support"]
    assert not EnforcementAction.objects.filter(subject_id=author.pk).exists()


def test_frames_without_text_are_skipped_before_ocr(tmp_path: Path) -> None:
    """The pre-filter drops plain frames without reading them; a post reads at most
    MAX_FRAMES frames, spread over the clip."""
    plain = tmp_path / "frame_001.jpg"
    Image.new("RGB", (270, 480), (30, 120, 90)).save(plain)
    assert ocr.scan_frames([plain])["frames"] == []
    assert ocr._picks(list(range(10)), 3) == [0, 4, 9]
