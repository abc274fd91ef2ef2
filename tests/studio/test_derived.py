"""Duets and stitches: who may borrow which post (refused in words before anything is
stored or rendered), the render checked by decoding it (the original left of the new clip
with its sound; a stitch's borrowed part then the creator's clips), and the editor's
endpoint that loads the original."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from apps.content.models import Post
from apps.social.models import Block, Follow
from apps.studio import services
from apps.studio.document import parse_structure, validate_document, without_source
from apps.studio.models import Edit, Preview
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.studio.conftest import (
    arrange_source,
    clip_file,
    dominant_hz,
    duration_of,
    frame_at,
    mean_rgb,
)

pytestmark = pytest.mark.django_db


def original_post(tmp_path: Path, *, colour: str = "red", hz: float = 440.0,
                  seconds: float = 2.0, **post: Any) -> Post:
    """A published public post of someone else: a plain colour with a sine of `hz`."""
    author = post.pop("author", None) or UserFactory()
    path = clip_file(tmp_path, f"original-{colour}-{hz:g}", source=f"color=c={colour}",
                     seconds=seconds, hz=hz)
    asset = arrange_source(author, path, seconds=seconds)
    return PostFactory(author=author, asset=asset, **post)


def duet(post: Post, **rest: Any) -> dict[str, Any]:
    return {"kind": "duet", "post_id": str(post.pk), **rest}


def doc_of(own: Any, source: dict[str, Any] | None, **rest: Any) -> dict[str, Any]:
    return {"version": 2, "clips": [{"asset_id": str(own.pk), "in_ms": 0,
                                      "out_ms": own.duration_ms}],
            **({"source": source} if source else {}), **rest}


def render(user: Any, tmp_path: Path, document: dict[str, Any], name: str) -> Path:
    doc = validate_document(document, user=user)
    work = tmp_path / f"work-{name}"
    work.mkdir()
    out = tmp_path / f"{name}.mp4"
    services.render_document(doc, work=work, out=out, preview=False)
    return out


def test_a_duet_stacks_the_original_left_of_the_new_clip_with_its_sound(user, source,
                                                                        tmp_path):
    original = original_post(tmp_path)
    own = source("blue", src="color=c=blue", hz=1000.0)
    out = render(user, tmp_path, doc_of(own, duet(original), original_volume=0.0), "duet")
    frame = frame_at(out, 1.0)
    left, right = mean_rgb(frame, (0.1, 0.45, 0.4, 0.55)), mean_rgb(frame, (0.6, 0.45, 0.9, 0.55))
    assert left[0] > 200, left  # the original: red
    assert left[2] < 50, left
    assert right[2] > 200, right  # the new clip: blue
    assert right[0] < 50, right
    assert duration_of(out)[0] == pytest.approx(2.0, abs=0.06)
    assert dominant_hz(out, 0.2, 1.8) == pytest.approx(440, abs=15)  # the original's sound
    # top and bottom; a longer own clip than the original holds its last frame
    longer = source("blue3", src="color=c=blue", seconds=3.0, hz=None)
    out = render(user, tmp_path, doc_of(longer, duet(original, layout="top_bottom")), "tb")
    frame = frame_at(out, 2.6)
    top, bottom = mean_rgb(frame, (0.4, 0.1, 0.6, 0.4)), mean_rgb(frame, (0.4, 0.6, 0.6, 0.9))
    assert top[0] > 200, (top, bottom)
    assert bottom[2] > 200, (top, bottom)
    assert duration_of(out)[0] == pytest.approx(3.0, abs=0.06)


def test_a_stitch_plays_the_chosen_part_of_the_original_then_the_new_clips(user, source,
                                                                          tmp_path):
    original = original_post(tmp_path, seconds=3.0)
    own = source("blue", src="color=c=blue", seconds=1.5, hz=1000.0)
    document = doc_of(own, {"kind": "stitch", "post_id": str(original.pk), "in_ms": 500,
                            "out_ms": 1700},
                      texts=[{"text": "Mine", "start_ms": 1400, "end_ms": 2500}])
    out = render(user, tmp_path, document, "stitch")
    video, audio = duration_of(out)
    assert video == pytest.approx(1.2 + 1.5, abs=0.06)  # borrowed + own
    assert audio == pytest.approx(1.2 + 1.5, abs=0.06)
    assert mean_rgb(frame_at(out, 0.6))[0] > 200  # the original's part first
    assert mean_rgb(frame_at(out, 2.0), (0, 0, 1, 0.3))[2] > 200  # then the creator's
    assert dominant_hz(out, 0.1, 1.1) == pytest.approx(440, abs=15)
    assert dominant_hz(out, 1.4, 2.6) == pytest.approx(1000, abs=15)
    # taken down: the creator's part alone, the text moved back with it
    doc = without_source(parse_structure(document))
    assert doc.duration_ms == 1500
    assert (doc.texts[0].start_ms, doc.texts[0].end_ms) == (200, 1300)


@pytest.mark.parametrize("case", [
    "not_allowed", "private", "friends", "private_account", "blocked", "minor", "removed",
    "draft", "age_restricted", "missing",
])
def test_who_may_be_dueted_is_refused_in_words_before_anything_is_stored(case, user, source,
                                                                         tmp_path):
    own = source("own", seconds=1.0)
    arranged: dict[str, dict[str, Any]] = {
        "not_allowed": {"allow_duet": False}, "private": {"visibility": "private"},
        "friends": {"visibility": "friends"}, "removed": {"status": "removed"},
        "draft": {"status": "draft", "published_at": None},
        "age_restricted": {"age_restricted": True},
    }
    settings = dict(arranged.get(case, {}))
    if case == "private_account":
        settings["author"] = UserFactory(is_private=True)
    if case == "minor":
        settings["author"] = UserFactory(date_of_birth=date.today().replace(
            year=date.today().year - 14))
    original = original_post(tmp_path, **settings)
    if case == "blocked":
        Block.objects.create(blocker=original.author, blocked=user)
    post_id = str(1 << 40) if case == "missing" else str(original.pk)
    client = APIClient()
    client.force_authenticate(user)
    document = doc_of(own, {"kind": "duet", "post_id": post_id})
    for url in ("/api/v1/studio/edits", "/api/v1/studio/previews"):
        response = client.post(url, {"document": document}, format="json")
        assert response.status_code == 400, response.content
        error = response.json()["error"]
        assert error["code"] == "invalid_edit"
        assert "source.post_id" in error["fields"]
        assert error["message"].startswith("source.post_id: ")
        assert len(error["message"]) > 30
    assert not Edit.objects.exists()
    assert not Preview.objects.exists()
    # the editor's endpoint says the same (or 404 for what the viewer may not see)
    loaded = client.get(f"/api/v1/studio/originals/{post_id}?kind=duet")
    assert loaded.status_code in (400, 404)
    assert loaded.json()["error"]["message"]


def test_the_refusals_say_why(user, source, tmp_path):
    own = source("own", seconds=1.0)
    friend = UserFactory()
    Follow.objects.create(follower=user, followee=friend)
    Follow.objects.create(follower=friend, followee=user)
    cases = {
        # what the creator can see but may not borrow: their own private video, a
        # friend's friends-only one (others' are missing for them, as for every endpoint)
        "That video is private, so it can't be dueted.": {"visibility": "private",
                                                          "author": user},
        "That video is for friends only, so it can't be dueted.": {"visibility": "friends",
                                                                   "author": friend},
        "That video doesn't exist or you can't see it.": {"visibility": "private"},
        "Videos of people under 16 can't be dueted or stitched.": {
            "author": UserFactory(date_of_birth=date(date.today().year - 13, 1, 1))},
        "doesn't allow this video to be dueted.": {"allow_duet": False},
    }
    for i, (words, settings) in enumerate(cases.items()):
        original = original_post(tmp_path, colour=f"0x{i:02x}0000", **settings)
        with pytest.raises(Exception) as refused:
            validate_document(doc_of(own, duet(original)), user=user)
        assert words in str(refused.value.message)  # type: ignore[attr-defined]


def test_document_rules_for_sources(user, source, tmp_path):
    own = source("own", seconds=1.0)
    original = original_post(tmp_path, allow_duet=False)
    stitch = {"kind": "stitch", "post_id": str(original.pk), "in_ms": 0, "out_ms": 1000}
    refusals: dict[str, dict[str, Any]] = {
        "source": {"version": 1, "source": stitch},
        "source.out_ms": {"source": {**stitch, "out_ms": 6000}},
        "source.layout": {"source": {**stitch, "layout": "side_by_side"}},
        "source.in_ms": {"source": duet(original, in_ms=0)},
        "sound": {"source": duet(original), "sound": {
            "sound_id": str(LibrarySoundFactory().pk)}},
    }
    for path, change in refusals.items():
        with pytest.raises(Exception) as refused:
            validate_document({**doc_of(own, None), **change}, user=user)
        assert path in refused.value.fields, (path, refused.value.fields)  # type: ignore[attr-defined]
    # a stitch of a post that allows stitches but not duets is fine; past its end is not
    doc = validate_document(doc_of(own, stitch), user=user)
    assert doc.duration_ms == 2000
    with pytest.raises(Exception) as refused:
        validate_document(doc_of(own, {**stitch, "out_ms": 2500, "in_ms": 2000}), user=user)
    assert "source.out_ms" in refused.value.fields  # type: ignore[attr-defined]


def test_the_editor_loads_an_original_it_may_duet(user, tmp_path):
    original = original_post(tmp_path)
    client = APIClient()
    client.force_authenticate(user)
    body = client.get(f"/api/v1/studio/originals/{original.pk}?kind=stitch").json()
    assert body["kind"] == "stitch"
    assert body["post"]["id"] == str(original.pk)
    assert body["post"]["author"]["username"] == original.author.username
    assert body["stitch_max_ms"] == 2000
    assert client.get(f"/api/v1/studio/originals/{original.pk}?kind=remix").status_code == 400
    assert APIClient().get(f"/api/v1/studio/originals/{original.pk}?kind=duet"
                           ).status_code in (401, 403)


def test_the_post_page_and_lists_credit_the_original_only_to_who_may_see_it(user, tmp_path):
    from django.test import Client

    from apps.content import services as content_services

    original = PostFactory(author=UserFactory())
    stitch = PostFactory(author=user)
    content_services.post_set_derived(post_id=stitch.pk, original_id=original.pk,
                                      kind="stitch")
    name = original.author.username
    page = Client().get(f"/@{user.username}/video/{stitch.pk}").content.decode()
    assert f'href="/@{name}/video/{original.pk}" data-derived-credit>Stitched from @{name}' \
        in page
    # a list (one read of the originals for the page) carries it too
    client = APIClient()
    client.force_authenticate(UserFactory())
    rows = client.get(f"/api/v1/users/{user.username}/posts").json()["results"]
    assert rows[0]["derived_from"] == {"kind": "stitch", "post_id": str(original.pk),
                                       "author": rows[0]["derived_from"]["author"]}
    assert rows[0]["derived_from"]["author"]["username"] == name
    # someone the original's creator blocked: no credit, no link
    blocked = UserFactory()
    Block.objects.create(blocker=original.author, blocked=blocked)
    browser = Client()
    browser.force_login(blocked)
    assert "data-derived-credit" not in browser.get(
        f"/@{user.username}/video/{stitch.pk}").content.decode()
    # the original's own page offers Duet and Stitch to a signed-in viewer (as allowed)
    browser.force_login(user)
    own = browser.get(f"/@{name}/video/{original.pk}").content.decode()
    assert f'href="/upload?duet={original.pk}" data-remix="duet"' in own
    assert f'href="/upload?stitch={original.pk}" data-remix="stitch"' in own
    original.allow_stitch = False
    original.save(update_fields=["allow_stitch"])
    assert "data-remix=\"stitch\"" not in browser.get(
        f"/@{name}/video/{original.pk}").content.decode()
