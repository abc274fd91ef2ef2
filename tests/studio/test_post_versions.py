"""Edits of a post: a render after the post went out becomes the post's video only once its
upload is playable and has passed the same checks as an upload; until then, and when it
does not, the post plays the version it had and the version says why in words.

The render is real (ffmpeg) and media's hooks and detection's asset-checked hook run as the
pipeline runs them; the upload's processing and scan are arranged (their own tests are in
tests/media and tests/moderation), so each step of the switch can be looked at."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.content import services as content_services
from apps.content.models import Post
from apps.media.hooks import run_asset_failed_hooks, run_asset_playable_hooks
from apps.media.models import MediaAsset
from apps.moderation.detection.models import AssetCheck, Outcome
from apps.moderation.detection.outcome_hooks import run_asset_checked_hooks
from apps.moderation.detection.services import asset_checks_clear
from apps.moderation.models import Case, Standing
from apps.studio import services, switching
from apps.studio.models import EditVersion
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db(transaction=True)


def _doc(asset: MediaAsset, *, out_ms: int = 2000, cover_ms: int | None = None
         ) -> dict[str, Any]:
    doc: dict[str, Any] = {"version": 1, "clips": [
        {"asset_id": str(asset.pk), "in_ms": 0, "out_ms": out_ms}]}
    if cover_ms is not None:
        doc["cover_ms"] = cover_ms
    return doc


def _playable(asset: MediaAsset | int) -> MediaAsset:
    pk = asset if isinstance(asset, int) else asset.pk
    MediaAsset.objects.filter(pk=pk).update(state=MediaAsset.State.READY,
                                            playable_at=timezone.now())
    MediaAsset.objects.filter(pk=pk, duration_ms__isnull=True).update(duration_ms=1500)
    return MediaAsset.objects.get(pk=pk)


def _published(user: Any, source: Any) -> Post:
    original = _playable(source("original"))
    asset_checks_clear(asset_id=original.pk, reason="arranged by a test")
    post = content_services.post_create(author=user, asset_id=original.pk, caption="day one")
    assert post.status == Post.Status.PUBLISHED
    return post


def _render(version: EditVersion) -> EditVersion:
    EditVersion.objects.filter(pk=version.pk).update(state=EditVersion.State.RENDERING)
    assert services.version_render_run(version_id=version.pk) == "rendered"
    version.refresh_from_db()
    assert version.asset_id is not None
    return version


def _post_asset(post: Post) -> int:
    return Post.objects.values_list("asset_id", flat=True).get(pk=post.pk)


def test_the_post_plays_the_new_version_once_it_is_playable_and_checked(
        user: Any, source: Any, moderation_gate_live: None) -> None:
    post = _published(user, source)
    old_asset = post.asset_id
    clip = _playable(source("clip"))
    client = APIClient()
    client.force_authenticate(user)
    created = client.post("/api/v1/studio/edits", {
        "document": _doc(clip, out_ms=1500, cover_ms=700), "post_id": str(post.pk)},
        format="json")
    assert created.status_code == 201, created.content
    assert created.json()["post_id"] == str(post.pk)
    version = _render(EditVersion.objects.get(edit_id=created.json()["id"]))
    assert version.switch == EditVersion.Switch.WAITING
    new_asset = version.asset_id
    assert new_asset is not None

    # processing: the post still plays the old upload
    switching.settle_for_asset(asset_id=new_asset)
    assert _post_asset(post) == old_asset
    # playable but not yet scanned: still waiting
    _playable(new_asset)
    run_asset_playable_hooks(asset_id=new_asset)
    assert _post_asset(post) == old_asset
    assert EditVersion.objects.get(pk=version.pk).switch == EditVersion.Switch.WAITING
    # the scan passes (its hook runs after the commit): the post plays the new version
    asset_checks_clear(asset_id=new_asset, reason="scanned clean")
    switched = Post.objects.get(pk=post.pk)
    assert switched.asset_id == new_asset
    assert switched.status == Post.Status.PUBLISHED
    assert switched.cover_time_ms == 700  # the document's cover frame
    assert MediaAsset.objects.filter(pk=old_asset).exists()  # the old version is kept
    shown = client.get(f"/api/v1/studio/edits/{created.json()['id']}").json()
    assert shown["versions"][0]["switch"] == "switched"
    assert shown["versions"][0]["switch_reason"] == ""
    # hooks run again (a redelivered task): nothing moves
    run_asset_checked_hooks(asset_id=new_asset)
    assert _post_asset(post) == new_asset


def _block(asset_id: int) -> None:
    AssetCheck.objects.update_or_create(asset_id=asset_id, defaults={
        "state": AssetCheck.State.DONE, "outcome": Outcome.BLOCK, "policy": "violence_graphic",
        "decided_at": timezone.now()})


def _fail(asset_id: int) -> None:
    MediaAsset.objects.filter(pk=asset_id).update(state=MediaAsset.State.FAILED,
                                                  state_reason="the video stream is corrupt.")


@pytest.mark.parametrize(("arrange", "words"), [
    ("blocked", "may go against our Community Guidelines on Violent and graphic content"),
    ("limited", "did not pass our checks before publishing"),
    ("failed", "could not be processed: the video stream is corrupt."),
])
def test_a_version_that_fails_the_checks_leaves_the_old_one_playing_and_says_why(
        user: Any, source: Any, moderation_gate_live: None, arrange: str, words: str) -> None:
    post = _published(user, source)
    old_asset = post.asset_id
    version = services.edit_create(user=user, document=_doc(_playable(source("clip"))),
                                   post_id=post.pk)
    version = _render(version)
    new_asset = version.asset_id
    assert new_asset is not None
    cases_before = Case.objects.count()
    if arrange == "failed":
        _fail(new_asset)
        run_asset_failed_hooks(asset_id=new_asset)
    else:
        _playable(new_asset)
        if arrange == "blocked":
            _block(new_asset)
            run_asset_checked_hooks(asset_id=new_asset)
        else:  # the account's features are limited: moderation's gate holds its posts
            Standing.objects.create(user=user, state=Standing.State.LIMITED,
                                    limited_until=timezone.now() + timedelta(days=3))
            asset_checks_clear(asset_id=new_asset, reason="scanned clean")
    version.refresh_from_db()
    assert version.switch == EditVersion.Switch.REFUSED
    assert words in version.switch_reason
    assert version.switch_reason.endswith("Your post still plays the previous version.")
    post.refresh_from_db()
    assert post.asset_id == old_asset
    assert post.status == Post.Status.PUBLISHED
    # the refused switch leaves nothing of the gates behind (a case for a post that was
    # never held)
    assert Case.objects.count() == cases_before
    # the author reads why on the post's page; nobody else does
    page = Client()
    page.force_login(user)
    body = page.get(f"/p/{post.pk}/").content.decode()
    assert "Your edit (version 1) was not applied:" in body
    assert html.escape(words) in body
    other = Client()
    other.force_login(UserFactory())
    assert "Your edit" not in other.get(f"/p/{post.pk}/").content.decode()


def test_a_later_version_of_a_posted_render_switches_a_draft_and_supersedes(
        user: Any, source: Any) -> None:
    """No post named: the post on an earlier version's upload is found. A draft switches
    without the checks (its publish runs them); a version still waiting when a newer one
    renders is told it was replaced."""
    clip = _playable(source("clip"))
    first = _render(services.edit_create(user=user, document=_doc(clip)))
    assert first.switch == EditVersion.Switch.NONE  # a new video: the client posts it
    assert first.asset_id is not None
    draft = content_services.post_create(author=user, asset_id=first.asset_id,
                                         publish="draft")
    second = _render(services.edit_update(user=user, edit_id=first.edit_id,
                                          document=_doc(clip, out_ms=1200)))
    assert second.switch == EditVersion.Switch.WAITING
    third = _render(services.edit_update(user=user, edit_id=first.edit_id,
                                         document=_doc(clip, out_ms=1000)))
    second.refresh_from_db()
    assert second.switch == EditVersion.Switch.REFUSED
    assert second.switch_reason == "Version 3 replaced this one before it went out."
    assert third.asset_id is not None
    _playable(third.asset_id)
    run_asset_playable_hooks(asset_id=third.asset_id)
    draft.refresh_from_db()
    assert draft.asset_id == third.asset_id
    assert draft.status == Post.Status.DRAFT
    assert EditVersion.objects.get(pk=third.pk).switch == EditVersion.Switch.SWITCHED


def test_an_edit_names_only_ones_own_post(user: Any, source: Any) -> None:
    other = _published(user, source)
    stranger = APIClient()
    stranger_user = UserFactory()
    stranger.force_authenticate(stranger_user)
    clip = _playable(source("clip"))
    MediaAsset.objects.filter(pk=clip.pk).update(owner=stranger_user)
    response = stranger.post("/api/v1/studio/edits", {
        "document": _doc(clip), "post_id": str(other.pk)}, format="json")
    assert response.status_code == 404
    assert response.json()["error"]["fields"] == {"post_id": ["Not one of your posts."]}
