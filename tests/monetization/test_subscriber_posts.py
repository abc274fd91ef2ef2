"""Subscriber-only posts: THE visibility rule (`content.selectors.visible_to_q`) admits a
`subscribers` post to the author and to holders of a current `social.Membership`, so every
surface built on it follows: the post API, the following feed, search, the profile grid
(API and page), the permalink page, and media (never publicly watchable: signed URLs only)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content import selectors
from apps.content.models import Post
from apps.media import signing
from apps.social import services as social_services
from tests.content.factories import PostFactory
from tests.content.test_public_media import fetch, grant_of, playable, playback_of, segment_of
from tests.factories import UserFactory
from tests.search.query_helpers import empty_index, ids, index, search
from tests.social.factories import BlockFactory, FollowFactory

pytestmark = pytest.mark.django_db
__all__ = ["empty_index", "playable"]


def _client(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def _adult(**kwargs: Any) -> User:
    return UserFactory(date_of_birth=date(1990, 1, 1), **kwargs)


def _member(creator: User, *, days: int = 30) -> User:
    fan = _adult()
    social_services.membership_grant(member_id=fan.pk, creator_id=creator.pk,
                                     until=timezone.now() + timedelta(days=days))
    return fan


def _sees(viewer: User | AnonymousUser, post: Post) -> bool:
    in_sql = selectors.visible_posts_for(viewer=viewer).filter(pk=post.pk).exists()
    assert selectors.visible_post_ids_for(viewer=viewer, post_ids={post.pk}) == (
        {post.pk} if in_sql else set())
    return in_sql


def test_the_rule_admits_the_author_and_current_members_only():
    creator = _adult()
    post = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS)
    member = _member(creator)
    lapsed = _adult()
    social_services.membership_grant(member_id=lapsed.pk, creator_id=creator.pk,
                                     until=timezone.now() - timedelta(seconds=1))
    follower_friend = _adult()
    FollowFactory(follower=follower_friend, followee=creator)
    FollowFactory(follower=creator, followee=follower_friend)
    other_creator_member = _member(_adult())

    assert _sees(creator, post)
    assert _sees(member, post)
    # a row whose `until` passed grants nothing, even if no task ended it
    assert not _sees(lapsed, post)
    # following, even both ways, is not a subscription
    assert not _sees(follower_friend, post)
    assert not _sees(other_creator_member, post)
    assert not _sees(AnonymousUser(), post)
    assert not Post.objects.filter(selectors.publicly_watchable_q(), pk=post.pk).exists()

    social_services.membership_end(member_id=member.pk, creator_id=creator.pk)
    assert not _sees(member, post)


def test_a_member_still_needs_what_every_post_needs():
    creator = _adult()
    post = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS)
    draft = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS,
                        status=Post.Status.DRAFT, published_at=None)
    member = _member(creator)
    assert not _sees(member, draft)
    BlockFactory(blocker=creator, blocked=member)
    assert not _sees(member, post)


def test_post_api_and_permalink_answer_members_and_404_the_rest():
    creator = _adult(username="vaultcreator")
    post = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS)
    member, stranger = _member(creator), _adult()

    answer = _client(member).get(f"/api/v1/posts/{post.pk}")
    assert answer.status_code == 200
    assert answer.json()["visibility"] == "subscribers"
    for client in (_client(stranger), _client(None)):
        refused = client.get(f"/api/v1/posts/{post.pk}")
        assert refused.status_code == 404
        assert refused.json()["error"]["code"] == "not_found"

    browser = APIClient()
    browser.force_login(member)
    page = browser.get(f"/@vaultcreator/video/{post.pk}")
    assert page.status_code == 200
    assert page.context["public"] is False  # no link previews of a paid post
    assert 'property="og:video"' not in page.content.decode()
    outsider = APIClient()
    outsider.force_login(stranger)
    assert outsider.get(f"/@vaultcreator/video/{post.pk}").status_code == 404


def test_media_of_a_subscriber_post_is_signed_only(playable):
    from apps.media.hooks import asset_public_version

    creator = _adult()
    post = playable(author=creator, visibility=Post.Visibility.SUBSCRIBERS)
    member = _member(creator)

    assert asset_public_version(asset_id=post.asset_id) is None
    detail = selectors.get_post_detail_for(viewer=member, post_id=post.pk)
    assert selectors.public_version_of(detail) is None
    playback = playback_of(_client(member), post)
    assert signing.public_grant_version(post.asset_id, grant_of(playback["hls"])) is None
    for url in (playback["hls"], segment_of(playback["hls"]), playback["mp4"]):
        served = fetch(url)
        assert served.status_code == 200, url
        assert served["Cache-Control"].startswith("private")
    # the stable public URL of the same media does not serve
    public = playback["hls"].replace(grant_of(playback["hls"]),
                                     signing.public_grant(post.asset_id, post.public_version))
    assert fetch(public).status_code == 404


def test_profile_grid_shows_subscriber_posts_to_members_only():
    creator = _adult(username="gridcreator")
    public = PostFactory(author=creator)
    paid = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS)
    member = _member(creator)

    def grid(user: User | None) -> set[str]:
        answer = _client(user).get("/api/v1/users/gridcreator/posts")
        assert answer.status_code == 200
        return {row["id"] for row in answer.json()["results"]}

    assert grid(member) == {str(public.pk), str(paid.pk)}
    assert grid(_adult()) == {str(public.pk)}
    assert grid(None) == {str(public.pk)}
    assert grid(creator) == {str(public.pk), str(paid.pk)}

    browser = APIClient()
    browser.force_login(_adult())
    page = browser.get("/@gridcreator").content.decode()
    assert f"/video/{public.pk}" in page
    assert f"/video/{paid.pk}" not in page
    browser.force_login(member)
    assert f"/video/{paid.pk}" in browser.get("/@gridcreator").content.decode()


def test_following_feed_carries_subscriber_posts_to_members_only():
    creator = _adult()
    paid = PostFactory(author=creator, visibility=Post.Visibility.SUBSCRIBERS)
    member, follower = _member(creator), _adult()
    FollowFactory(follower=member, followee=creator)
    FollowFactory(follower=follower, followee=creator)

    def feed(user: User) -> set[str]:
        answer = _client(user).get("/api/v1/feed/following")
        assert answer.status_code == 200, answer.content
        return {row["id"] for row in answer.json()["results"]}

    assert str(paid.pk) in feed(member)
    assert str(paid.pk) not in feed(follower)


@pytest.mark.usefixtures("empty_index")
def test_search_never_returns_a_subscriber_post_to_a_non_member():
    creator = _adult()
    paid = PostFactory(author=creator, caption="backstage rehearsal marigold",
                       visibility=Post.Visibility.SUBSCRIBERS)
    member = _member(creator)
    index(paid)  # even if the index held it, the query filter decides

    assert ids(search(_client(_adult()), "marigold", tab="videos")) == []
    assert ids(search(_client(None), "marigold", tab="videos")) == []
    assert ids(search(_client(member), "marigold", tab="videos")) == [str(paid.pk)]


def test_the_posting_api_accepts_the_subscribers_visibility():
    creator = _adult()
    post = PostFactory(author=creator)
    answer = _client(creator).patch(f"/api/v1/posts/{post.pk}",
                                    {"visibility": "subscribers"}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["visibility"] == "subscribers"
    refused = _client(creator).patch(f"/api/v1/posts/{post.pk}",
                                     {"visibility": "members"}, format="json")
    assert refused.status_code == 400
    assert "visibility" in refused.json()["error"]["fields"]


def test_a_member_of_oneself_is_refused():
    creator = _adult()
    from apps.core.errors import ApplicationError

    with pytest.raises(ApplicationError):
        social_services.membership_grant(member_id=creator.pk, creator_id=creator.pk,
                                         until=timezone.now() + timedelta(days=1))


def test_subscriber_badges_on_profiles_and_comments():
    from apps.comments.services import comment_create

    creator = _adult(username="badgecreator")
    fan, other = _member(creator), _adult()
    FollowFactory(follower=fan, followee=creator)
    post = PostFactory(author=creator)

    seen_by_creator = _client(creator).get(f"/api/v1/users/{fan.username}").json()
    assert seen_by_creator["relation"]["subscribes_to_you"] is True
    seen_by_fan = _client(fan).get("/api/v1/users/badgecreator").json()
    assert seen_by_fan["relation"]["subscribed"] is True
    assert seen_by_fan["relation"]["subscribes_to_you"] is False
    assert _client(other).get("/api/v1/users/badgecreator").json()["relation"][
        "subscribed"] is False

    comment_create(author=fan, post=post, text="first!")
    comment_create(author=other, post=post, text="second")
    rows = _client(None).get(f"/api/v1/posts/{post.pk}/comments").json()["results"]
    assert {row["text"]: row["author_is_subscriber"] for row in rows} == {
        "first!": True, "second": False}

    social_services.membership_end(member_id=fan.pk, creator_id=creator.pk)
    rows = _client(None).get(f"/api/v1/posts/{post.pk}/comments").json()["results"]
    assert not any(row["author_is_subscriber"] for row in rows)
