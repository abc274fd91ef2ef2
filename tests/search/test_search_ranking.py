"""Ranking: text relevance mixed with popularity, freshness and the viewer; verified and
popular accounts above look-alikes; semantic candidates fused with keyword ones (real
MiniLM embeddings in pgvector)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.analytics.models import UserPostStats
from apps.feed.services import embed_posts
from apps.social.models import Follow
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, ids, index, search

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("empty_index")]
__all__ = ["empty_index"]


def _client(user: User | None = None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def test_the_verified_account_ranks_above_its_impersonators() -> None:
    real = UserFactory(username="charlidamelio", display_name="charli d'amelio",
                       is_verified=True, followers_count=150_000_000)
    # A capital I for the l, three followers, the same display name.
    fake = UserFactory(username="charIidamelio", display_name="charli d'amelio",
                       followers_count=3)
    fan_page = UserFactory(username="charlidamelio_fanpage", display_name="charli damelio",
                           followers_count=2_000)
    index(fake, fan_page, real)
    for query in ("charli damelio", "charlidamelio", "charli d'amelio", "charli damelo"):
        for tab in ("accounts", "top"):
            found = ids(search(_client(), query, tab=tab), "account")
            assert found, (query, tab)
            assert found[0] == str(real.pk), (query, tab, found)
            if str(fake.pk) in found:
                assert found.index(str(fake.pk)) > found.index(str(real.pk))


def test_an_account_the_viewer_follows_comes_first() -> None:
    famous = UserFactory(username="pizzapete", display_name="Pizza Pete",
                         followers_count=500_000)
    friend = UserFactory(username="pizzapete2", display_name="Pizza Pete",
                         followers_count=40)
    index(famous, friend)
    viewer = UserFactory()
    assert ids(search(_client(viewer), "pizza pete", tab="accounts"))[0] == str(famous.pk)
    Follow.objects.create(follower=viewer, followee=friend)
    assert ids(search(_client(viewer), "pizza pete", tab="accounts"))[0] == str(friend.pk)


def test_videos_by_creators_the_viewer_follows_or_watches_come_first() -> None:
    popular, followed, watched = UserFactory(), UserFactory(), UserFactory()
    top = PostFactory(author=popular, caption="street food tour bangkok", views_count=90_000)
    by_followed = PostFactory(author=followed, caption="street food tour hanoi", views_count=50)
    by_watched = PostFactory(author=watched, caption="street food tour taipei", views_count=50)
    index(top, by_followed, by_watched)
    viewer = UserFactory()
    assert ids(search(_client(viewer), "street food", tab="videos"))[0] == str(top.pk)
    Follow.objects.create(follower=viewer, followee=followed)
    for older in PostFactory.create_batch(3, author=watched, caption="unrelated clip"):
        UserPostStats.objects.create(user_id=viewer.pk, post_id=older.pk, completed=True,
                                     plays=1, last_event_at=timezone.now())
    order = ids(search(_client(viewer), "street food", tab="videos"))
    assert order[:2] == [str(by_followed.pk), str(by_watched.pk)]
    # Signed out, popularity decides.
    assert ids(search(_client(), "street food", tab="videos"))[0] == str(top.pk)


def test_popularity_then_freshness_between_equally_relevant_videos() -> None:
    old_hit = PostFactory(caption="latte art heart", views_count=1_000_000,
                          published_at=timezone.now() - timedelta(days=200))
    fresh = PostFactory(caption="latte art swan", views_count=10)
    stale = PostFactory(caption="latte art tulip", views_count=10,
                        published_at=timezone.now() - timedelta(days=90))
    index(stale, fresh, old_hit)
    assert ids(search(_client(), "latte art", tab="videos")) == [
        str(old_hit.pk), str(fresh.pk), str(stale.pk)]


def test_semantic_matching_finds_a_paraphrase_and_fuses_with_keywords() -> None:
    kitten = PostFactory(caption="my kitten being silly")
    keyword = PostFactory(caption="funny cat compilation")
    unrelated = PostFactory(caption="quarterly tax filing checklist")
    index(kitten, keyword, unrelated)
    assert embed_posts() == 3  # real all-MiniLM-L6-v2 vectors in pgvector

    found = ids(search(_client(), "funny cat", tab="videos"))
    # The keyword match (also the nearest in meaning) first, then the paraphrase no
    # keyword matches; the unrelated caption is beyond the semantic distance cut.
    assert found == [str(keyword.pk), str(kitten.pk)]
    # Top has them too; as-you-type does not embed (keyword only).
    assert str(kitten.pk) in ids(search(_client(), "funny cat"), "video")
    assert ids(search(_client(), "funny cat", tab="videos", mode="prefix")) == [
        str(keyword.pk)]
    # Nonsense finds nothing semantic.
    assert ids(search(_client(), "qwzx vbnm", tab="videos")) == []
