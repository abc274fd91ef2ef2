"""The admin screens, the recount command, account removal, and caption parsing."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from apps.accounts.models import User
from apps.accounts.services import users_purge_due
from apps.content import services
from apps.content.captions import parse_caption
from apps.content.models import Hashtag, Mention, Post, Sound
from apps.media.models import MediaAsset
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory, PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client() -> Client:
    client = Client()
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def _post(author: User, caption: str = "", **kwargs: object) -> Post:
    return services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                                caption=caption, **kwargs)  # type: ignore[arg-type]


def test_post_admin_searches_caption_and_author_and_filters(staff_client):
    maya = UserFactory(username="maya")
    post = _post(maya, "#sunset over the bay")
    _post(UserFactory(username="leo"), "rainy day", publish="draft")
    url = "/django-admin/content/post/"
    assert b"maya" in staff_client.get(url, {"q": "sunset"}).content
    assert str(post.pk).encode() in staff_client.get(url, {"q": "maya"}).content
    drafts = staff_client.get(url, {"status__exact": "draft"})
    assert drafts.status_code == 200
    assert b"leo" in drafts.content
    assert b"maya" not in drafts.content
    assert staff_client.get(url, {"visibility__exact": "friends"}).status_code == 200
    assert staff_client.get(f"{url}{post.pk}/change/").status_code == 200


@pytest.mark.parametrize("model", ["hashtag", "sound", "mention"])
def test_other_changelists_render(staff_client, model):
    _post(UserFactory(), "#tag @" + UserFactory(username="pal").username)
    LibrarySoundFactory(title="Licensed Banger")
    page = staff_client.get(f"/django-admin/content/{model}/")
    assert page.status_code == 200


def test_staff_add_a_library_sound_and_take_it_down(staff_client):
    add = staff_client.post("/django-admin/content/sound/add/", {
        "kind": "library", "title": "Summer Hit", "artist": "DJ Test", "duration_ms": "31000",
        "rights_holder": "Label", "territories": '["US", "GB"]', "allowed_uses": '["posts"]',
        "licence_expires_at_0": "2030-01-01", "licence_expires_at_1": "00:00:00",
        "allow_reuse": "on",
    })
    assert add.status_code == 302, add.content[:2000]
    sound = Sound.objects.get(title="Summer Hit")
    assert sound.territories == ["US", "GB"]
    assert sound.is_usable()
    staff_client.post("/django-admin/content/sound/", {
        "action": "take_down", "_selected_action": [str(sound.pk)],
    })
    sound.refresh_from_db()
    assert sound.is_taken_down
    assert not sound.is_usable()


def test_recount_repairs_drifted_counters():
    author = UserFactory()
    post = _post(author, "#drift")
    Hashtag.objects.update(posts_count=7)
    Sound.objects.filter(posts=post).update(posts_count=0)
    out = StringIO()
    call_command("content_recount", stdout=out)
    assert "corrected 2" in out.getvalue()
    assert Hashtag.objects.get().posts_count == 1
    assert Sound.objects.get(posts=post).posts_count == 1


def test_purging_an_account_removes_its_posts_and_fixes_shared_counts():
    # given: a leaving user with posts (one tagged like someone else's), and their uploads
    leaving, staying = UserFactory(), UserFactory()
    _post(leaving, "#shared")
    _post(leaving, "draft #shared", publish="draft")
    _post(staying, "#shared @" + leaving.username)
    leaving.deletion_scheduled_for = timezone.now() - timedelta(days=1)
    leaving.save(update_fields=["deletion_scheduled_for"])

    # when
    assert users_purge_due() == 1

    # then: posts went before the uploads they PROTECT; counters follow
    assert not User.objects.filter(pk=leaving.pk).exists()
    assert not Post.objects.filter(author_id=leaving.pk).exists()
    assert not MediaAsset.objects.filter(owner_id=leaving.pk).exists()
    assert Hashtag.objects.get().posts_count == 1
    assert not Mention.objects.exists()
    assert not Sound.objects.filter(original_owner_id=leaving.pk).exists()


def test_caption_parsing():
    tokens = parse_caption("Hi @Ann.B. #Fun_1 #123 a#b email@x.io #Fun_1 #ÉtÉ @a")
    found = [(t.kind, t.value) for t in tokens]
    assert found == [("mention", "Ann.B"), ("hashtag", "Fun_1"), ("hashtag", "Fun_1"),
                     ("hashtag", "ÉtÉ")]


def test_hashtag_counts_follow_publish_edit_and_delete():
    author = UserFactory()
    post = _post(author, "#a #b", publish="draft")
    assert dict(Hashtag.objects.values_list("name", "posts_count")) == {"a": 0, "b": 0}
    services.post_update(user=author, post_id=post.pk, publish="now")
    services.post_update(user=author, post_id=post.pk, caption="#b #c")
    assert dict(Hashtag.objects.values_list("name", "posts_count")) == {"a": 0, "b": 1, "c": 1}
    services.post_delete(user=author, post_id=post.pk)
    assert dict(Hashtag.objects.values_list("name", "posts_count")) == {"a": 0, "b": 0, "c": 0}


def test_removed_posts_cannot_be_edited_by_their_author():
    post = PostFactory(status=Post.Status.REMOVED)
    from apps.core.errors import NotFoundError

    with pytest.raises(NotFoundError):
        services.post_update(user=post.author, post_id=post.pk, caption="back")
    with pytest.raises(NotFoundError):
        services.post_delete(user=post.author, post_id=post.pk)


def test_moderation_removal_hides_the_post_and_fixes_counts():
    author = UserFactory()
    post = _post(author, "#bad")
    services.post_pin(user=author, post_id=post.pk)
    assert services.post_remove(post_id=post.pk) is True
    assert services.post_remove(post_id=post.pk) is False
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED
    assert post.pinned_at is None
    assert Hashtag.objects.get().posts_count == 0


def test_the_sound_admin_refuses_malformed_territories_and_uses(staff_client):
    response = staff_client.post("/django-admin/content/sound/add/", {
        "kind": "library", "title": "Bad Rights", "territories": '["usa", 5]',
        "allowed_uses": '["everything"]', "allow_reuse": "on",
    })
    assert response.status_code == 200  # the form again, with errors
    assert not Sound.objects.filter(title="Bad Rights").exists()


def test_territories():
    worldwide = LibrarySoundFactory()
    local = LibrarySoundFactory(territories=["US", "GB"])
    assert worldwide.is_available_in(None)
    assert local.is_available_in("gb")
    assert not local.is_available_in("FR")
    assert not local.is_available_in(None)
