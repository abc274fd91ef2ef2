"""Shares (rows, links, the public share page) and qualified view counting."""

from __future__ import annotations

import re

import pytest

from apps.content.models import Post
from apps.engagement import counters
from apps.engagement.models import Share
from tests.engagement.factories import PublishedPostFactory
from tests.engagement.helpers import engagement_snapshot, error_of
from tests.factories import UserFactory
from tests.social.factories import BlockFactory

pytestmark = pytest.mark.django_db


def test_sharing_records_a_share_and_returns_the_share_link(client_for):
    post = PublishedPostFactory()
    client = client_for(UserFactory())

    response = client.post(f"/api/v1/posts/{post.pk}/share", {"channel": "whatsapp"},
                           format="json")
    client.post(f"/api/v1/posts/{post.pk}/share", {"channel": "copy_link"}, format="json")

    assert response.status_code == 201
    body = response.json()
    assert body["channel"] == "whatsapp"
    assert body["url"].endswith(f"/p/{post.pk}/")
    assert Share.objects.filter(post=post).count() == 2
    counters.flush()
    post.refresh_from_db()
    assert post.shares_count == 2


@pytest.mark.parametrize("body", [{"channel": "carrier_pigeon"}, {}, {"channel": ["x"]}])
def test_bad_share_channels_are_400(client_for, body):
    post = PublishedPostFactory()
    before = engagement_snapshot()
    response = client_for(UserFactory()).post(f"/api/v1/posts/{post.pk}/share", body,
                                              format="json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid"
    assert engagement_snapshot() == before


def test_sharing_a_post_you_cannot_see_is_404(client_for):
    post = PublishedPostFactory()
    attacker = UserFactory()
    BlockFactory(blocker=post.author, blocked=attacker)
    before = engagement_snapshot()
    response = client_for(attacker).post(f"/api/v1/posts/{post.pk}/share",
                                         {"channel": "sms"}, format="json")
    assert response.status_code == 404
    assert engagement_snapshot() == before


def test_the_share_page_of_a_public_post_carries_open_graph_and_twitter_tags(client):
    post = PublishedPostFactory(caption="sunset over the bay <script>x</script>")

    response = client.get(f"/p/{post.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    assert re.search(r'<meta property="og:title" content="[^"]*@' + post.author.username, html)
    assert 'property="og:type" content="video.other"' in html
    # the share link is the post's landing page; its canonical URL is the permalink
    permalink = f"http://127.0.0.1:8000/@{post.author.username}/video/{post.pk}"
    assert f'property="og:url" content="{permalink}"' in html
    assert 'name="twitter:card" content="summary"' in html
    assert "sunset over the bay &lt;script&gt;" in html
    assert "<script>x" not in html


@pytest.mark.parametrize("arrange", ["private", "friends", "draft", "removed",
                                     "private_account", "deactivated", "unknown", "garbage"])
def test_the_share_page_is_404_for_anything_not_public(client, arrange):
    post = PublishedPostFactory()
    path = f"/p/{post.pk}/"
    if arrange in ("private", "friends"):
        Post.objects.filter(pk=post.pk).update(visibility=arrange)
    elif arrange in ("draft", "removed"):
        Post.objects.filter(pk=post.pk).update(status=arrange)
    elif arrange == "private_account":
        type(post.author).objects.filter(pk=post.author_id).update(is_private=True)
    elif arrange == "deactivated":
        type(post.author).objects.filter(pk=post.author_id).update(is_active=False)
    elif arrange == "unknown":
        path = f"/p/{post.pk + 1}/"
    else:
        path = "/p/12abc/"
    # what a stranger gets (the author sees their own post there, as on the permalink:
    # tests/web/test_post_landing.py)
    assert client.get(path).status_code == 404


def test_a_qualified_view_counts_once_per_viewer_per_window(client_for, anon_client):
    post = PublishedPostFactory()
    viewer = client_for(UserFactory())
    url = f"/api/v1/posts/{post.pk}/view"

    short = viewer.post(url, {"watched_ms": 400}, format="json")
    first = viewer.post(url, {"watched_ms": 1500}, format="json")
    again = viewer.post(url, {"watched_ms": 9000}, format="json")
    other = client_for(UserFactory()).post(url, {"watched_ms": 1000}, format="json")
    anonymous = anon_client.post(url, {"watched_ms": 2000}, format="json")

    assert [r.json()["counted"] for r in (short, first, again, other, anonymous)] == [
        False, True, False, True, True]
    assert viewer.get(f"/api/v1/posts/{post.pk}/engagement").json()["counters"][
        "views_count"] == 3
    counters.flush()
    post.refresh_from_db()
    assert post.views_count == 3


def test_half_of_a_very_short_clip_is_a_view(client_for):
    post = PublishedPostFactory(asset__duration_ms=1200)
    response = client_for(UserFactory()).post(f"/api/v1/posts/{post.pk}/view",
                                              {"watched_ms": 600}, format="json")
    assert response.json()["counted"] is True


@pytest.mark.parametrize("body", [{"watched_ms": -1}, {"watched_ms": "lots"}, {},
                                  {"watched_ms": 10**12}])
def test_bad_view_reports_are_400_and_count_nothing(client_for, body):
    post = PublishedPostFactory()
    response = client_for(UserFactory()).post(f"/api/v1/posts/{post.pk}/view", body,
                                              format="json")
    assert response.status_code == 400
    assert counters.pending_deltas([post.pk]) == {}


def test_views_of_invisible_posts_are_404_and_count_nothing(anon_client):
    post = PublishedPostFactory(visibility=Post.Visibility.FRIENDS)
    response = anon_client.post(f"/api/v1/posts/{post.pk}/view", {"watched_ms": 5000},
                                format="json")
    assert response.status_code == 404
    assert counters.pending_deltas([post.pk]) == {}
