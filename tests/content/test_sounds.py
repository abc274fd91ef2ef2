"""Sounds: original sounds made with posts, the licensed library, "use this sound", and
sounds that stop being usable."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.content import services
from apps.content.models import Post, Sound
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory, PostFactory
from tests.content.helpers import content_snapshot, error_of
from tests.factories import UserFactory
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db

SOUND_QUERIES = 1
SOUND_POSTS_QUERIES = 2


def _create(client, user, **body):  # type: ignore[no-untyped-def]
    asset = MediaAssetFactory(owner=user)
    return client.post("/api/v1/posts", {"asset_id": str(asset.pk), **body}, format="json")


def _original_post(author, **kwargs) -> Post:  # type: ignore[no-untyped-def]
    return services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                                **kwargs)


def test_every_post_gets_its_own_original_sound_from_its_upload():
    author = UserFactory(username="singer")
    post = _original_post(author)
    sound = Sound.objects.get(pk=post.original_sound_id or 0)
    assert post.sound_id == sound.pk
    assert sound.kind == Sound.Kind.ORIGINAL
    assert sound.source_asset_id == post.asset_id
    assert sound.original_owner_id == author.pk
    assert sound.duration_ms == 15_000


def test_a_post_uses_a_library_sound_with_a_mix_mode(client_for):
    me = UserFactory()
    track = LibrarySoundFactory(allowed_uses=["posts"])
    response = _create(client_for(me), me, sound_id=str(track.pk), sound_mix="duck")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["sound"]["id"] == str(track.pk)
    assert body["sound"]["kind"] == "library"
    assert body["sound_mix"] == "duck"
    assert body["uses_original_sound"] is False
    post = Post.objects.get(pk=int(body["id"]))
    assert post.original_sound_id is not None  # the upload's own audio is still a sound
    track.refresh_from_db()
    assert track.posts_count == 1


def test_a_post_uses_another_posts_sound_when_its_owner_allows(client_for):
    singer, me = UserFactory(), UserFactory()
    theirs = _original_post(singer)
    response = _create(client_for(me), me, sound_id=str(theirs.sound_id), sound_mix="mute")
    assert response.status_code == 201, response.content
    assert response.json()["sound"]["id"] == str(theirs.sound_id)
    assert Sound.objects.get(posts=theirs).posts_count == 2


def test_reuse_is_refused_when_the_owner_turned_it_off(client_for):
    singer, me = UserFactory(), UserFactory()
    theirs = _original_post(singer)
    switched = client_for(singer).patch(f"/api/v1/sounds/{theirs.sound_id}",
                                        {"allow_reuse": False}, format="json")
    assert switched.status_code == 200
    assert switched.json()["allow_reuse"] is False
    before = content_snapshot()
    response = _create(client_for(me), me, sound_id=str(theirs.sound_id))
    assert response.status_code == 403
    assert error_of(response)["code"] == "sound_reuse_not_allowed"
    assert content_snapshot() == before


def test_only_the_owner_switches_reuse(client_for):
    theirs = _original_post(UserFactory())
    response = client_for(UserFactory()).patch(f"/api/v1/sounds/{theirs.sound_id}",
                                               {"allow_reuse": False}, format="json")
    assert response.status_code == 404
    assert Sound.objects.get(posts=theirs).allow_reuse is True


def test_sounds_of_posts_the_user_may_not_see_are_not_found(client_for):
    me = UserFactory()
    private = _original_post(UserFactory(), visibility=Post.Visibility.PRIVATE)
    blocker = UserFactory()
    blocked_post = _original_post(blocker)
    BlockFactory(blocker=blocker, blocked=me)
    for sound_id in (private.sound_id, blocked_post.sound_id, 999, "abc"):
        response = _create(client_for(me), me, sound_id=str(sound_id))
        assert response.status_code in (400, 404), response.content
        assert client_for(me).get(f"/api/v1/sounds/{sound_id}").status_code == 404
    assert Post.objects.filter(author=me).count() == 0


@pytest.mark.parametrize("change", [
    {"is_taken_down": True},
    {"licence_expires_at": timezone.now() - timedelta(days=1)},
])
def test_a_sound_taken_down_or_out_of_licence_is_not_usable_and_is_muted(
    client_for, api_client, change
):
    me = UserFactory()
    track = LibrarySoundFactory()
    post = services.post_create(author=me, asset_id=MediaAssetFactory(owner=me).pk,
                                sound_id=track.pk)
    Sound.objects.filter(pk=track.pk).update(**change)

    before = content_snapshot()
    response = _create(client_for(me), me, sound_id=str(track.pk))
    assert response.status_code == 409
    assert error_of(response)["code"] == "sound_unavailable"
    assert content_snapshot() == before

    shown = api_client.get(f"/api/v1/posts/{post.pk}").json()
    assert shown["sound"]["muted"] is True
    page = api_client.get(f"/api/v1/sounds/{track.pk}").json()
    assert page["muted"] is True
    assert page["usable"] is False


def test_a_library_sound_not_licensed_for_posts_is_refused(client_for):
    me = UserFactory()
    track = LibrarySoundFactory(allowed_uses=["ads"])
    response = _create(client_for(me), me, sound_id=str(track.pk))
    assert response.status_code == 400
    assert error_of(response)["code"] == "sound_use_not_allowed"


@pytest.mark.parametrize("size", [5, 50])
def test_the_sound_page_lists_its_posts_at_a_fixed_cost(
    api_client, django_assert_num_queries, size
):
    track = LibrarySoundFactory()
    authors = [UserFactory() for _ in range(3)]
    for i in range(size + 1):
        services.post_create(author=authors[i % 3],
                             asset_id=MediaAssetFactory(owner=authors[i % 3]).pk,
                             sound_id=track.pk)
    PostFactory(sound=track, visibility=Post.Visibility.PRIVATE)
    with django_assert_num_queries(SOUND_QUERIES):
        page = api_client.get(f"/api/v1/sounds/{track.pk}")
    assert page.json()["posts_count"] == size + 1
    assert page.json()["title"] == track.title
    with django_assert_num_queries(SOUND_POSTS_QUERIES):
        posts = api_client.get(f"/api/v1/sounds/{track.pk}/posts?page_size={size}")
    assert posts.status_code == 200
    assert len(posts.json()["results"]) == size
    rest = api_client.get(posts.json()["next"])
    assert len(rest.json()["results"]) == 1


def test_an_original_sound_page_needs_a_post_the_viewer_may_see(api_client, client_for):
    author = UserFactory()
    post = _original_post(author, visibility=Post.Visibility.FRIENDS)
    assert api_client.get(f"/api/v1/sounds/{post.sound_id}").status_code == 404
    assert client_for(author).get(f"/api/v1/sounds/{post.sound_id}").status_code == 200
    public = _original_post(author)
    page = api_client.get(f"/api/v1/sounds/{public.sound_id}")
    assert page.status_code == 200
    assert page.json()["original_owner"]["username"] == author.username


def test_deleting_a_post_keeps_its_sound_while_others_use_it():
    singer, fan = UserFactory(), UserFactory()
    original = _original_post(singer)
    services.post_create(author=fan, asset_id=MediaAssetFactory(owner=fan).pk,
                         sound_id=original.sound_id)
    services.post_delete(user=singer, post_id=original.pk)
    assert Sound.objects.filter(pk=original.sound_id or 0).exists()
