"""Creating, editing, deleting and pinning posts through the API, as a client and as an
attacker would."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.content.models import Hashtag, Mention, Post, PostHashtag, Sound
from apps.media.models import MediaAsset
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.content.helpers import content_snapshot, error_of
from tests.factories import UserFactory
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db


def _create(client, **body):
    return client.post("/api/v1/posts", body, format="json")


def test_a_creator_posts_their_upload_with_hashtags_and_mentions(client_for):
    # given
    me = UserFactory(username="maker")
    UserFactory(username="friend.one")
    asset = MediaAssetFactory(owner=me)

    # when
    response = _create(client_for(me), asset_id=str(asset.pk),
                       caption="Sunset #Beach #travel with @Friend.One and @nobody_here #beach",
                       visibility="public", comment_policy="friends", allow_duet=False,
                       language="en")

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    post = Post.objects.get(pk=int(body["id"]))
    assert body["id"] == str(post.pk)
    assert body["status"] == "published"
    assert post.published_at is not None
    assert body["author"]["username"] == "maker"
    assert body["hashtags"] == ["beach", "travel"]
    assert body["comment_policy"] == "friends"
    assert body["allow_duet"] is False
    mention = next(e for e in body["entities"] if e["type"] == "mention")
    assert mention["username"] == "friend.one"
    assert mention["text"] == "@Friend.One"
    assert body["caption"][mention["start"]:mention["end"]] == "@Friend.One"
    assert not [e for e in body["entities"] if e.get("text") == "@nobody_here"]
    media = body["media"]
    assert {k: media[k] for k in ("asset_id", "state", "playable", "duration_ms")} == {
        "asset_id": str(asset.pk), "state": "ready", "playable": True, "duration_ms": 15000}
    assert set(media["playback"]) >= {"hls", "mp4", "poster"}
    assert body["counts"] == {"likes": 0, "comments": 0, "shares": 0, "views": 0,
                              "favourites": 0}
    assert body["sound"]["kind"] == "original"
    assert body["uses_original_sound"] is True
    assert body["sound"]["title"] == "original sound - maker"
    assert body["sound"]["muted"] is False
    assert Hashtag.objects.get(name__iexact="beach").posts_count == 1
    assert PostHashtag.objects.filter(post=post).count() == 2
    assert list(Mention.objects.filter(post=post).values_list("user__username", flat=True)) \
        == ["friend.one"]
    assert Sound.objects.get(pk=int(body["sound"]["id"])).posts_count == 1


def test_hashtags_are_unique_without_regard_to_case():
    from apps.content import services

    author = UserFactory()
    services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                         caption="#DanceChallenge")
    services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                         caption="#dancechallenge #DANCECHALLENGE")
    tags = list(Hashtag.objects.all())
    assert [(t.name, t.posts_count) for t in tags] == [("DanceChallenge", 2)]


def test_mentions_skip_blocked_and_undiscoverable_users(client_for):
    me = UserFactory()
    blocker = UserFactory(username="blocker")
    BlockFactory(blocker=blocker, blocked=me)
    UserFactory(username="gone", deactivated_at=timezone.now())
    UserFactory(username="fine")
    response = _create(client_for(me), asset_id=str(MediaAssetFactory(owner=me).pk),
                       caption="@blocker @gone @fine @" + me.username)
    assert response.status_code == 201, response.content
    mentioned = {e["username"] for e in response.json()["entities"]}
    assert mentioned == {"fine", me.username}
    assert list(Mention.objects.values_list("user__username", flat=True)) == ["fine"]


def test_a_post_on_an_upload_still_processing_waits_in_processing(client_for):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me, state=MediaAsset.State.PROCESSING)
    response = _create(client_for(me), asset_id=str(asset.pk), caption="#soon")
    assert response.status_code == 201
    assert response.json()["status"] == "processing"
    assert response.json()["published_at"] is None
    assert Hashtag.objects.get().posts_count == 0


def test_drafts_and_scheduled_posts(client_for):
    me = UserFactory()
    client = client_for(me)
    draft = _create(client, asset_id=str(MediaAssetFactory(owner=me).pk), publish="draft")
    when = (timezone.now() + timedelta(hours=2)).replace(microsecond=0)
    scheduled = _create(client, asset_id=str(MediaAssetFactory(owner=me).pk),
                        publish=when.isoformat())
    assert draft.status_code == 201
    assert draft.json()["status"] == "draft"
    assert scheduled.status_code == 201, scheduled.content
    assert scheduled.json()["status"] == "scheduled"
    assert scheduled.json()["scheduled_for"].startswith(when.strftime("%Y-%m-%dT%H:%M:%S"))


@pytest.mark.parametrize("publish", [
    "yesterday", "2020-01-01T00:00:00+00:00", "2099-01-01T00:00:00+00:00",
    "2030-01-01T00:00:00", 12, None, "", "now " * 20,
])
def test_bad_publish_values_are_refused_and_nothing_is_made(client_for, publish):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me)
    before = content_snapshot()
    response = _create(client_for(me), asset_id=str(asset.pk), publish=publish)
    assert response.status_code == 400, response.content
    assert "publish" in error_of(response)["fields"]
    assert content_snapshot() == before


def test_someone_elses_upload_is_not_found_and_nothing_is_made(client_for):
    me, other = UserFactory(), UserFactory()
    theirs = MediaAssetFactory(owner=other)
    before = content_snapshot()
    response = _create(client_for(me), asset_id=str(theirs.pk))
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert content_snapshot() == before


@pytest.mark.parametrize("asset_id", ["abc", "-5", "0", "99999999999999999999", True, None,
                                      ["1"], {"id": 1}, "1e5"])
def test_garbage_asset_ids_are_400(client_for, asset_id):
    me = UserFactory()
    response = _create(client_for(me), asset_id=asset_id)
    assert response.status_code == 400
    assert "asset_id" in error_of(response)["fields"]


def test_an_upload_can_be_posted_once(client_for):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me)
    client = client_for(me)
    assert _create(client, asset_id=str(asset.pk)).status_code == 201
    before = content_snapshot()
    again = _create(client, asset_id=str(asset.pk))
    assert again.status_code == 409
    assert error_of(again)["code"] == "asset_already_posted"
    assert content_snapshot() == before


def test_a_failed_upload_cannot_be_posted(client_for):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me, state=MediaAsset.State.FAILED)
    response = _create(client_for(me), asset_id=str(asset.pk))
    assert response.status_code == 400
    assert error_of(response)["code"] == "asset_unusable"
    assert not Post.objects.exists()


def test_huge_captions_and_too_many_tags_are_refused(client_for):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me)
    client = client_for(me)
    for caption in ["x" * 2201, " ".join(f"#t{i}x" for i in range(31)),
                    " ".join(f"@user{i}" for i in range(21)), "nul\x00byte"]:
        response = _create(client, asset_id=str(asset.pk), caption=caption)
        assert response.status_code == 400, (caption[:20], response.content)
        assert "caption" in error_of(response)["fields"]
    assert not Post.objects.exists()
    assert not Hashtag.objects.exists()
    ok = _create(client, asset_id=str(asset.pk), caption="y" * 2200)
    assert ok.status_code == 201


def test_malformed_json_and_anonymous_writes_are_refused(api_client, client_for):
    me = UserFactory()
    response = client_for(me).post("/api/v1/posts", "{not json",
                                   content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "parse_error"
    anon = api_client.post("/api/v1/posts", {"asset_id": "1"}, format="json")
    assert anon.status_code == 401
    assert not Post.objects.exists()


def test_bad_choices_are_400(client_for):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me)
    for field, value in [("visibility", "everyone"), ("comment_policy", "nobody"),
                         ("sound_mix", "loud"), ("allow_duet", "maybe"),
                         ("cover_time_ms", -1), ("language", "<script>"),
                         ("language", "x" * 17)]:
        response = _create(client_for(me), asset_id=str(asset.pk), **{field: value})
        assert response.status_code == 400, field
        assert field in error_of(response)["fields"]
    assert not Post.objects.exists()


def test_a_cover_frame_past_the_end_is_refused(client_for):
    me = UserFactory()
    asset = MediaAssetFactory(owner=me, duration_ms=1000)
    response = _create(client_for(me), asset_id=str(asset.pk), cover_time_ms=5000)
    assert response.status_code == 400
    assert not Post.objects.exists()
    ok = _create(client_for(me), asset_id=str(asset.pk), cover_time_ms=500)
    assert ok.json()["cover_time_ms"] == 500


# --- edit -------------------------------------------------------------------------------------


def test_the_author_edits_caption_and_settings_and_counts_follow(client_for):
    from apps.content import services

    me = UserFactory()
    post = services.post_create(author=me, asset_id=MediaAssetFactory(owner=me).pk,
                                caption="#old #kept")
    response = client_for(me).patch(f"/api/v1/posts/{post.pk}",
                                    {"caption": "#kept #new", "visibility": "friends",
                                     "allow_download": False}, format="json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["hashtags"] == ["kept", "new"]
    assert body["visibility"] == "friends"
    assert body["allow_download"] is False
    counts = dict(Hashtag.objects.values_list("name", "posts_count"))
    assert counts == {"old": 0, "kept": 1, "new": 1}


def test_someone_else_cannot_edit_delete_or_pin_a_post(client_for):
    post = PostFactory(caption="mine")
    stranger = UserFactory()
    client = client_for(stranger)
    before = content_snapshot()
    url = f"/api/v1/posts/{post.pk}"
    assert client.patch(url, {"caption": "pwned"}, format="json").status_code == 403
    assert client.delete(url).status_code == 403
    assert client.post(f"{url}/pin").status_code == 403
    assert content_snapshot() == before


def test_someone_elses_invisible_posts_are_404_for_every_verb(client_for):
    draft = PostFactory(status=Post.Status.DRAFT, published_at=None)
    private = PostFactory(visibility=Post.Visibility.PRIVATE)
    client = client_for(UserFactory())
    before = content_snapshot()
    for post in (draft, private):
        url = f"/api/v1/posts/{post.pk}"
        assert client.get(url).status_code == 404
        assert client.patch(url, {"caption": "x"}, format="json").status_code == 404
        assert client.delete(url).status_code == 404
        assert client.post(f"{url}/pin").status_code == 404
    assert content_snapshot() == before


@pytest.mark.parametrize("raw", ["abc", "0", "-1", "99999999999999999999", "%00"])
def test_garbage_post_ids_are_404(api_client, client_for, raw):
    assert api_client.get(f"/api/v1/posts/{raw}").status_code == 404
    assert client_for(UserFactory()).delete(f"/api/v1/posts/{raw}").status_code == 404


def test_a_draft_is_published_later_by_patch(client_for):
    from apps.content import services

    me = UserFactory()
    post = services.post_create(author=me, asset_id=MediaAssetFactory(owner=me).pk,
                                caption="#later", publish="draft")
    assert Hashtag.objects.get().posts_count == 0
    client = client_for(me)
    when = timezone.now() + timedelta(days=1)
    scheduled = client.patch(f"/api/v1/posts/{post.pk}", {"publish": when.isoformat()},
                             format="json")
    assert scheduled.json()["status"] == "scheduled"
    published = client.patch(f"/api/v1/posts/{post.pk}", {"publish": "now"}, format="json")
    assert published.json()["status"] == "published"
    assert published.json()["scheduled_for"] is None
    assert Hashtag.objects.get().posts_count == 1
    back = client.patch(f"/api/v1/posts/{post.pk}", {"publish": "draft"}, format="json")
    assert back.status_code == 409
    assert error_of(back)["code"] == "already_published"


def test_delete_removes_the_post_and_fixes_counts(client_for):
    from apps.content import services

    me = UserFactory()
    post = services.post_create(author=me, asset_id=MediaAssetFactory(owner=me).pk,
                                caption="#gone @" + UserFactory(username="pal").username)
    response = client_for(me).delete(f"/api/v1/posts/{post.pk}")
    assert response.status_code == 204
    assert not Post.objects.exists()
    assert not Mention.objects.exists()
    assert Hashtag.objects.get().posts_count == 0
    assert not Sound.objects.exists()  # its original sound was used by nobody else


# --- pin --------------------------------------------------------------------------------------


def test_pin_up_to_three(client_for):
    me = UserFactory()
    posts = [PostFactory(author=me) for _ in range(4)]
    client = client_for(me)
    for post in posts[:3]:
        response = client.post(f"/api/v1/posts/{post.pk}/pin")
        assert response.status_code == 200
        assert response.json()["is_pinned"] is True
    assert client.post(f"/api/v1/posts/{posts[0].pk}/pin").status_code == 200  # idempotent
    fourth = client.post(f"/api/v1/posts/{posts[3].pk}/pin")
    assert fourth.status_code == 409
    assert error_of(fourth)["code"] == "pin_limit"
    assert client.delete(f"/api/v1/posts/{posts[0].pk}/pin").json()["is_pinned"] is False
    assert client.post(f"/api/v1/posts/{posts[3].pk}/pin").status_code == 200
    assert Post.objects.filter(pinned_at__isnull=False).count() == 3


def test_a_draft_cannot_be_pinned(client_for):
    post = PostFactory(status=Post.Status.DRAFT, published_at=None)
    response = client_for(post.author).post(f"/api/v1/posts/{post.pk}/pin")
    assert response.status_code == 400
    assert error_of(response)["code"] == "not_published"
