"""Profile pages: the grid (pinned first, published only), the private and blocked states,
the drafts and liked tabs, followers / following and follow requests."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.content.models import Post
from apps.engagement import services as engagement_services
from apps.engagement.models import Like
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory, FollowRequestFactory

pytestmark = pytest.mark.django_db


def _post_links(response) -> list[str]:  # type: ignore[no-untyped-def]
    html = response.content.decode()
    return [chunk.split('"', 1)[0] for chunk in html.split('class="tile" href="')[1:]]


def test_a_public_profile_shows_published_posts_pinned_first_and_never_drafts(browser_for):
    owner = UserFactory(username="maker")
    older = PostFactory(author=owner)
    pinned = PostFactory(author=owner, pinned_at=timezone.now())
    newest = PostFactory(author=owner)
    draft = PostFactory(author=owner, status=Post.Status.DRAFT, published_at=None)
    scheduled = PostFactory(author=owner, status=Post.Status.SCHEDULED, published_at=None,
                            scheduled_for=timezone.now() + timedelta(days=1))

    for viewer in (None, UserFactory(), owner):
        response = browser_for(viewer).get("/@maker")
        assert response.status_code == 200
        assert _post_links(response) == [f"/@maker/video/{p.pk}" for p in (pinned, newest, older)]
        html = response.content.decode()
        assert str(draft.pk) not in html
        assert str(scheduled.pk) not in html
        assert "Pinned" in html


def test_the_drafts_tab_is_the_owners_alone(browser_for):
    owner = UserFactory(username="drafter")
    draft = PostFactory(author=owner, status=Post.Status.DRAFT, published_at=None)
    response = browser_for(owner).get("/@drafter/drafts")
    assert response.status_code == 200
    assert _post_links(response) == [f"/@drafter/video/{draft.pk}"]
    assert browser_for(UserFactory()).get("/@drafter/drafts").status_code == 404
    anonymous = browser_for(None).get("/@drafter/drafts")
    assert anonymous.status_code == 302
    assert "/accounts/login/" in anonymous["Location"]


def test_unknown_deactivated_and_blocked_either_way_are_404(browser_for):
    owner = UserFactory(username="blocker")
    PostFactory(author=owner)
    blocked, blocking = UserFactory(), UserFactory()
    BlockFactory(blocker=owner, blocked=blocked)
    BlockFactory(blocker=blocking, blocked=owner)
    gone = UserFactory(username="gone", deactivated_at=timezone.now())
    assert browser_for(None).get("/@nobody-here").status_code == 404
    assert browser_for(None).get("/@gone").status_code == 404
    assert gone.pk
    for viewer in (blocked, blocking):
        for path in ("/@blocker/followers", "/@blocker/following", "/@blocker/liked"):
            assert browser_for(viewer).get(path).status_code == 404, path
    assert browser_for(blocked).get("/@blocker").status_code == 404
    # the one who blocked is told so (and offered the unblock), with no content
    mine = browser_for(blocking).get("/@blocker")
    assert "You blocked @blocker" in mine.content.decode()
    assert _post_links(mine) == []


def test_a_private_profile_hides_its_grid_and_lists_from_strangers(browser_for):
    owner = UserFactory(username="secret", is_private=True)
    post = PostFactory(author=owner)
    follower = UserFactory()
    FollowFactory(follower=follower, followee=owner)
    stranger = UserFactory()

    for viewer in (None, stranger):
        response = browser_for(viewer).get("/@secret")
        assert response.status_code == 200
        html = response.content.decode()
        assert "This account is private" in html
        assert _post_links(response) == []
        assert str(post.pk) not in html
        assert browser_for(viewer).get("/@secret/followers").status_code == 403
        assert browser_for(viewer).get("/@secret/following").status_code == 403

    response = browser_for(follower).get("/@secret")
    assert _post_links(response) == [f"/@secret/video/{post.pk}"]
    assert browser_for(follower).get("/@secret/followers").status_code == 200


def test_the_follow_button_shows_the_viewers_relation(browser_for):
    target = UserFactory(username="star")
    private = UserFactory(username="quiet", is_private=True)
    viewer = UserFactory()
    assert "Follow</button>" in browser_for(viewer).get("/@star").content.decode()
    FollowFactory(follower=viewer, followee=target)
    assert ">Following</button>" in browser_for(viewer).get("/@star").content.decode()
    FollowRequestFactory(requester=viewer, target=private)
    assert ">Requested</button>" in browser_for(viewer).get("/@quiet").content.decode()
    FollowFactory(follower=target, followee=viewer)
    back = browser_for(viewer).get(f"/@{viewer.username}")
    assert "Edit profile" in back.content.decode()
    anonymous = browser_for(None).get("/@star").content.decode()
    assert "/accounts/login/?next=/%40star" in anonymous


def test_another_spelling_of_the_username_redirects_to_the_canonical_profile(browser_for):
    UserFactory(username="CamelCase")
    response = browser_for(None).get("/@camelcase")
    assert response.status_code == 301
    assert response["Location"] == "/@CamelCase"


def test_followers_and_following_list_people_with_the_viewers_relation(browser_for):
    owner = UserFactory(username="hub")
    fans = [UserFactory() for _ in range(3)]
    for fan in fans:
        FollowFactory(follower=fan, followee=owner)
    viewer = fans[0]
    response = browser_for(viewer).get("/@hub/followers")
    assert response.status_code == 200
    html = response.content.decode()
    for fan in fans:
        assert f'href="/@{fan.username}"' in html
    assert browser_for(None).get("/@hub/following").status_code == 200


def test_the_people_list_costs_the_same_queries_for_two_or_twenty_rows(
        browser_for, django_assert_max_num_queries):
    owner = UserFactory(username="counted")
    viewer = UserFactory()
    client = browser_for(viewer)
    for _ in range(2):
        FollowFactory(followee=owner)
    client.get("/@counted/followers")  # warm the session and the user row caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as two:
        client.get("/@counted/followers")
    for _ in range(18):
        FollowFactory(followee=owner)
    with CaptureQueriesContext(connection) as twenty:
        client.get("/@counted/followers")
    assert len(twenty) == len(two)


def test_the_profile_grid_costs_the_same_queries_for_two_or_twenty_posts(browser_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    owner = UserFactory(username="prolific")
    client = browser_for(UserFactory())
    PostFactory.create_batch(2, author=owner)
    client.get("/@prolific")
    with CaptureQueriesContext(connection) as two:
        assert client.get("/@prolific").status_code == 200
    PostFactory.create_batch(18, author=owner)
    with CaptureQueriesContext(connection) as twenty:
        response = client.get("/@prolific")
    assert len(_post_links(response)) == 20
    assert len(twenty) == len(two)


def test_the_grid_pages_with_before_and_ignores_a_made_up_cursor(browser_for):
    owner = UserFactory(username="paged")
    posts = PostFactory.create_batch(30, author=owner)
    client = browser_for(None)
    first = client.get("/@paged")
    links = _post_links(first)
    assert len(links) == 24
    last_id = links[-1].rsplit("/", 1)[1]
    html = first.content.decode()
    assert f'href="?before={last_id}"' in html
    second = client.get(f"/@paged?before={last_id}")
    assert len(_post_links(second)) == 6
    assert set(links) | set(_post_links(second)) == {f"/@paged/video/{p.pk}" for p in posts}
    for junk in ("abc", "-1", "9" * 40, "0"):
        assert client.get(f"/@paged?before={junk}").status_code == 200


def test_the_liked_tab_follows_the_owners_choice(browser_for):
    owner = UserFactory(username="liker")
    liked_post = PostFactory()
    Like.objects.create(user=owner, post=liked_post)
    stranger = browser_for(UserFactory())
    hidden = stranger.get("/@liker/liked")
    assert hidden.status_code == 200
    assert "Liked videos are private" in hidden.content.decode()
    assert 'href="/@liker/liked"' not in stranger.get("/@liker").content.decode()
    assert _post_links(browser_for(owner).get("/@liker/liked")) == [
        f"/@{liked_post.author.username}/video/{liked_post.pk}"]

    engagement_services.engagement_settings_update(user=owner, show_liked_posts=True)
    shown = stranger.get("/@liker/liked")
    assert _post_links(shown) == [f"/@{liked_post.author.username}/video/{liked_post.pk}"]
    assert 'href="/@liker/liked"' in stranger.get("/@liker").content.decode()


def test_follow_requests_page_lists_pending_requests_for_the_owner(browser_for):
    owner = UserFactory(username="gate", is_private=True)
    requests = [FollowRequestFactory(target=owner) for _ in range(2)]
    response = browser_for(owner).get("/follow-requests")
    assert response.status_code == 200
    html = response.content.decode()
    for request in requests:
        assert f"/api/v1/me/follow-requests/{request.pk}/approve" in html
        assert f'href="/@{request.requester.username}"' in html
    assert browser_for(None).get("/follow-requests").status_code == 302


def test_the_blocker_sees_that_they_blocked_the_account_and_can_undo_it(browser_for):
    blocker = UserFactory()
    target = UserFactory(username="blockedone")
    BlockFactory(blocker=blocker, blocked=target)
    response = browser_for(blocker).get("/@blockedone")
    assert response.status_code == 200
    html = response.content.decode()
    assert "You blocked @blockedone" in html
    assert 'data-url="/api/v1/users/blockedone/block"' in html
    assert _post_links(response) == []
    # the blocked side, and everyone's lists, still get nothing
    assert browser_for(target).get(f"/@{blocker.username}").status_code == 404
    assert browser_for(blocker).get("/@blockedone/followers").status_code == 404
