"""The studio's sound credited as the post's sound: a post on a studio render that mixed in a
library sound names that sound (its page lists the post: "use this sound" leads to it),
and media renders the upload as it is (content's sound-in-asset hook, filled by the
studio) instead of mixing the sound in a second time; the same sound chosen for an
ordinary upload is still mixed in."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.content import selectors as content_selectors
from apps.content.models import Post
from apps.studio.models import Edit, EditVersion
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory

pytestmark = pytest.mark.django_db


def _client(user) -> APIClient:  # type: ignore[no-untyped-def]
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_a_studio_renders_sound_is_the_posts_sound_and_is_not_mixed_again(user):
    sound = LibrarySoundFactory(audio_file="sounds/track.m4a")
    render = MediaAssetFactory(owner=user)
    edit = Edit.objects.create(owner=user)
    EditVersion.objects.create(
        edit=edit, number=1, state=EditVersion.State.RENDERED, asset=render, document={
            "version": 2, "clips": [], "sound": {"sound_id": str(sound.pk), "volume": 0.8,
                                                 "start_ms": 0}})
    client = _client(user)
    response = client.post("/api/v1/posts", {"asset_id": str(render.pk),
                                              "sound_id": str(sound.pk), "sound_mix": "mute",
                                              "caption": "made in the studio"}, format="json")
    assert response.status_code == 201, response.content
    post = Post.objects.get(pk=int(response.json()["id"]))
    assert post.sound_id == sound.pk
    assert response.json()["sound"]["id"] == str(sound.pk)
    # credited, not mixed: the upload as it is (and `mute` cannot silence the studio's mix)
    recipe = content_selectors.asset_media_recipe(asset_id=render.pk)
    assert recipe is not None
    assert (recipe.sound_file, recipe.sound_asset_id, recipe.sound_mix) == (None, None, "keep")
    # "use this sound": the sound's page lists the post
    listed = client.get(f"/api/v1/sounds/{sound.pk}/posts").json()
    assert str(post.pk) in [item["id"] for item in listed["results"]]

    # the same sound chosen for an upload the studio did not make: mixed in as before
    plain = MediaAssetFactory(owner=user)
    other = client.post("/api/v1/posts", {"asset_id": str(plain.pk), "sound_id": str(sound.pk),
                                          "sound_mix": "duck"}, format="json")
    assert other.status_code == 201, other.content
    recipe = content_selectors.asset_media_recipe(asset_id=plain.pk)
    assert recipe is not None
    assert (recipe.sound_file, recipe.sound_mix) == ("sounds/track.m4a", "duck")
    # a studio render that mixed ANOTHER sound: this one is mixed in on top, as chosen
    elsewhere = LibrarySoundFactory(audio_file="sounds/other.m4a")
    second = MediaAssetFactory(owner=user)
    EditVersion.objects.create(
        edit=Edit.objects.create(owner=user), number=1, state=EditVersion.State.RENDERED,
        asset=second, document={"version": 2, "clips": [], "sound": {
            "sound_id": str(elsewhere.pk), "volume": 1.0, "start_ms": 0}})
    third = client.post("/api/v1/posts", {"asset_id": str(second.pk), "sound_id": str(sound.pk),
                                          "sound_mix": "keep"}, format="json")
    assert third.status_code == 201, third.content
    recipe = content_selectors.asset_media_recipe(asset_id=second.pk)
    assert recipe is not None
    assert recipe.sound_file == "sounds/track.m4a"
