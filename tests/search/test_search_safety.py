"""Safety at query time: one test per rule. Every document is in the index; what the
viewer may not see must still never come back (the query filter drops it, whatever the
index holds)."""

from __future__ import annotations

import importlib
from datetime import date, timedelta

import pytest
from allauth.account.models import EmailAddress
from django.apps import apps as django_apps
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content.models import Post, Sound
from apps.moderation.detection.models import TermList
from apps.moderation.services import enforce
from apps.search.engine import get_backend
from apps.social.models import Block, Follow, Mute
from tests.content.factories import LibrarySoundFactory, PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, ids, index, search, tag_post

pytestmark = [pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]


def _client(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _videos(client: APIClient, q: str) -> list[str]:
    return ids(search(client, q, tab="videos"))


def _accounts(client: APIClient, q: str) -> list[str]:
    return ids(search(client, q, tab="accounts"))


@pytest.mark.django_db
def test_removed_post_is_not_found() -> None:
    post = PostFactory(caption="marble run contraption", status=Post.Status.REMOVED)
    index(post)
    assert _videos(_client(), "marble run") == []
    assert _videos(_client(post.author), "marble run") == []  # not even by its author


@pytest.mark.django_db(transaction=True)
def test_a_post_taken_down_disappears_at_once_though_the_index_still_holds_it() -> None:
    post = PostFactory(caption="suspicious giveaway click here")
    index(post)
    client = _client(UserFactory())
    assert _videos(client, "giveaway") == [str(post.pk)]
    enforce(action="remove", target_type="post", target_id=post.pk, policy="spam_scam",
            reason="Scam.")
    # Nothing drained: the document is still in the engine, the query filter drops it.
    assert [hit.id for hit in get_backend().search("video", "giveaway", limit=5)] == [post.pk]
    assert _videos(client, "giveaway") == []


@pytest.mark.django_db
def test_private_accounts_posts_only_for_approved_followers() -> None:
    owner = UserFactory(is_private=True)
    post = PostFactory(author=owner, caption="family picnic lakeside")
    follower, stranger = UserFactory(), UserFactory()
    Follow.objects.create(follower=follower, followee=owner)
    index(post)
    assert _videos(_client(stranger), "picnic lakeside") == []
    assert _videos(_client(), "picnic lakeside") == []
    assert _videos(_client(follower), "picnic lakeside") == [str(post.pk)]


@pytest.mark.django_db
def test_private_and_friends_only_videos_stay_with_their_audience() -> None:
    author, fan, friend = UserFactory(), UserFactory(), UserFactory()
    only_me = PostFactory(author=author, caption="diary entry lantern",
                          visibility=Post.Visibility.PRIVATE)
    friends = PostFactory(author=author, caption="birthday lantern party",
                          visibility=Post.Visibility.FRIENDS)
    Follow.objects.create(follower=fan, followee=author)
    Follow.objects.create(follower=friend, followee=author)
    Follow.objects.create(follower=author, followee=friend)
    index(only_me, friends)
    assert _videos(_client(fan), "lantern") == []
    assert _videos(_client(friend), "lantern") == [str(friends.pk)]


@pytest.mark.django_db
@pytest.mark.parametrize("status", [Post.Status.DRAFT, Post.Status.SCHEDULED,
                                    Post.Status.PROCESSING, Post.Status.REVIEWING])
def test_unpublished_posts_are_not_found_even_by_their_author(status: str) -> None:
    post = PostFactory(caption="unreleased choreography teaser", status=status,
                       published_at=None)
    index(post)
    assert _videos(_client(post.author), "choreography") == []
    assert _videos(_client(UserFactory()), "choreography") == []


@pytest.mark.django_db
def test_age_restricted_posts_only_for_signed_in_adults() -> None:
    post = PostFactory(caption="extreme stunt compilation", age_restricted=True)
    index(post)
    minor = UserFactory(date_of_birth=timezone.localdate() - timedelta(days=365 * 15))
    adult = UserFactory(date_of_birth=date(1990, 1, 1))
    assert _videos(_client(), "stunt compilation") == []
    assert _videos(_client(minor), "stunt compilation") == []
    assert _videos(_client(adult), "stunt compilation") == [str(post.pk)]


@pytest.mark.django_db
def test_limited_reach_posts_are_not_surfaced_by_search() -> None:
    post = PostFactory(caption="borderline prank video", limited_reach=True)
    index(post)
    assert _videos(_client(UserFactory()), "borderline prank") == []


@pytest.mark.django_db
def test_an_account_the_viewer_blocked_and_its_videos_are_not_found() -> None:
    viewer = UserFactory()
    blocked = UserFactory(username="loudneighbour", display_name="Loud Neighbour")
    post = PostFactory(author=blocked, caption="loudneighbour drum practice")
    Block.objects.create(blocker=viewer, blocked=blocked)
    index(blocked, post)
    assert _accounts(_client(viewer), "loudneighbour") == []
    assert _videos(_client(viewer), "drum practice") == []
    assert _accounts(_client(UserFactory()), "loudneighbour") == [str(blocked.pk)]


@pytest.mark.django_db
def test_an_account_that_blocked_the_viewer_and_its_videos_are_not_found() -> None:
    viewer = UserFactory()
    blocker = UserFactory(username="quietpainter", display_name="Quiet Painter")
    post = PostFactory(author=blocker, caption="quietpainter watercolour sunset")
    Block.objects.create(blocker=blocker, blocked=viewer)
    index(blocker, post)
    assert _accounts(_client(viewer), "quietpainter") == []
    assert _videos(_client(viewer), "watercolour") == []


@pytest.mark.django_db
def test_muted_authors_videos_are_left_out() -> None:
    viewer, muted = UserFactory(), UserFactory()
    post = PostFactory(author=muted, caption="endless podcast clip")
    Mute.objects.create(muter=viewer, muted=muted)
    index(post)
    assert _videos(_client(viewer), "podcast clip") == []
    assert _videos(_client(UserFactory()), "podcast clip") == [str(post.pk)]


@pytest.mark.django_db
def test_undiscoverable_accounts_are_not_found() -> None:
    gone = UserFactory(username="vanishedvlogger", deactivated_at=timezone.now())
    unverified = UserFactory(username="vanishedvlogger2")
    EmailAddress.objects.filter(user=unverified).delete()  # never proved an address
    index(gone, unverified, PostFactory(author=gone, caption="vanished vlog"))
    assert _accounts(_client(), "vanishedvlogger") == []
    assert _videos(_client(), "vanished vlog") == []


@pytest.mark.django_db(transaction=True)
def test_a_search_banned_account_and_its_videos_are_hidden_until_the_ban_is_reversed() -> None:
    spammer = UserFactory(username="followforfollow", display_name="Follow For Follow")
    post = PostFactory(author=spammer, caption="followforfollow free followers")
    index(spammer, post)
    client = _client(UserFactory())
    enforce(action="search_ban", target_type="user", target_id=spammer.pk,
            policy="spam_scam", reason="Follower-farming spam.")
    assert _accounts(client, "followforfollow") == []
    assert _videos(client, "free followers") == []
    # The account itself is untouched: its profile and posts are still there.
    spammer.refresh_from_db()
    assert spammer.is_active
    enforce(action="restore", target_type="user", target_id=spammer.pk, policy="spam_scam",
            reason="Reviewed again.")
    assert _accounts(client, "followforfollow") == [str(spammer.pk)]
    assert _videos(client, "free followers") == [str(post.pk)]


@pytest.mark.django_db(transaction=True)
def test_a_search_banned_post_is_hidden_but_its_author_is_not() -> None:
    author = UserFactory(username="cliffdiver", display_name="Cliff Diver")
    banned = PostFactory(author=author, caption="cliff jump dare challenge")
    other = PostFactory(author=author, caption="cliff jump safety briefing")
    index(author, banned, other)
    enforce(action="search_ban", target_type="post", target_id=banned.pk,
            policy="self_harm", reason="Dangerous challenge.")
    client = _client(UserFactory())
    assert _videos(client, "cliff jump") == [str(other.pk)]
    assert _accounts(client, "cliffdiver") == [str(author.pk)]


@pytest.mark.django_db
def test_a_taken_down_sound_is_not_found() -> None:
    sound = LibrarySoundFactory(title="Copyright Trap Beat", is_taken_down=True)
    live = LibrarySoundFactory(title="Copyright Free Beat")
    index(sound, live)
    assert ids(search(_client(), "copyright beat", tab="sounds")) == [str(live.pk)]


@pytest.mark.django_db
def test_an_original_sound_only_invisible_posts_use_is_not_found() -> None:
    owner = UserFactory(is_private=True)
    post = PostFactory(author=owner, caption="hum")
    sound = Sound.objects.create(kind=Sound.Kind.ORIGINAL, title="Secret Humming Tune",
                                 original_owner=owner, duration_ms=5000)
    Post.objects.filter(pk=post.pk).update(sound=sound, original_sound=sound)
    index(sound)
    assert ids(search(_client(UserFactory()), "humming tune", tab="sounds")) == []
    assert ids(search(_client(owner), "humming tune", tab="sounds")) == [str(sound.pk)]


@pytest.mark.django_db
def test_a_hashtag_whose_only_posts_are_invisible_is_not_found() -> None:
    hidden = PostFactory(caption="#secretclub meeting", status=Post.Status.REMOVED)
    tag = tag_post(hidden, "secretclub")
    index(tag)
    assert ids(search(_client(), "secretclub", tab="hashtags")) == []
    assert ids(search(_client(), "secretclub", tab="top")) == []
    shown = PostFactory(caption="#secretclub open day")
    tag_post(shown, "secretclub")
    assert ids(search(_client(), "secretclub", tab="hashtags")) == ["secretclub"]


@pytest.mark.django_db
def test_a_blocked_search_term_answers_a_safety_notice_and_no_results() -> None:
    TermList.objects.create(name="test self-harm", language="en", policy="self_harm",
                            purpose=TermList.Purpose.SEARCH_BLOCKED,
                            terms="hurt myself\nthinspo")
    index(PostFactory(caption="how i stopped wanting to hurt myself"),
          PostFactory(caption="thinspo motivation"))
    for query in ("hurt myself", "HURT   MYSELF", "thinsp0", "Thínspo tips"):
        body = search(_client(), query, tab="videos")
        assert body["results"] == [], query
        assert body["next_cursor"] is None
        notice = body["notice"]
        assert notice["code"] == "safety"
        assert notice["title"]
        assert "helpline" in notice["message"]
        assert notice["links"]
        assert all(link["url"] for link in notice["links"])
    # Whole words only: a word that merely contains a term is searched as usual.
    index(PostFactory(caption="thinspoons cutlery review"))
    assert search(_client(), "thinspoons", tab="videos")["notice"] is None


@pytest.mark.django_db
def test_detection_term_lists_do_not_block_searches_and_languages_are_kept_apart() -> None:
    TermList.objects.create(name="slurs", language="", policy="hate_harassment",
                            terms="grumpkin")  # a detection list: scans, not searches
    TermList.objects.create(name="es", language="es", policy="self_harm",
                            purpose=TermList.Purpose.SEARCH_BLOCKED, terms="quiero morir")
    assert search(_client(), "grumpkin")["notice"] is None
    spanish = UserFactory(language="es")
    assert search(_client(spanish), "quiero morir")["notice"]["code"] == "safety"
    english = UserFactory(language="en")
    assert search(_client(english), "quiero morir")["notice"] is None


@pytest.mark.django_db
def test_the_seeded_lists_cover_self_harm_searches() -> None:
    # The data migration's rows (a transaction=True test elsewhere flushes the tables, so
    # they are written again here, as the migration writes them: get_or_create).
    seeded = importlib.import_module(
        "apps.moderation.detection.migrations.0004_default_search_blocked_terms")
    seeded.seed(django_apps, None)
    assert search(_client(), "how to kill myself")["notice"]["code"] == "safety"
    assert search(_client(UserFactory(language="pt")), "quero morrer")["notice"] is not None


@pytest.mark.django_db
def test_a_hashtag_carrying_a_blocked_term_is_not_offered_while_typing() -> None:
    TermList.objects.create(name="test", language="", policy="self_harm",
                            purpose=TermList.Purpose.SEARCH_BLOCKED, terms="proana")
    post = PostFactory(caption="#proana #prodancer")
    harmful, fine = tag_post(post, "proana"), tag_post(post, "prodancer")
    index(harmful, fine)
    body = search(_client(), "pro", tab="hashtags", mode="prefix")
    assert ids(body) == ["prodancer"]
    assert ids(search(_client(), "proana_tips", tab="hashtags", mode="prefix")) == []


@pytest.mark.django_db(transaction=True)
def test_a_hashtag_only_on_search_banned_or_muted_videos_is_not_offered() -> None:
    post = PostFactory(caption="#cliffdare jump")
    tag = tag_post(post, "cliffdare")
    index(tag)
    viewer = UserFactory()
    Mute.objects.create(muter=viewer, muted=post.author)
    assert ids(search(_client(viewer), "cliffdare", tab="hashtags")) == []
    assert ids(search(_client(), "cliffdare", tab="hashtags")) == ["cliffdare"]
    enforce(action="search_ban", target_type="post", target_id=post.pk, policy="self_harm",
            reason="Dangerous challenge.")
    assert ids(search(_client(), "cliffdare", tab="hashtags")) == []
