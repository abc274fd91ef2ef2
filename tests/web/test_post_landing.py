"""The share link `/p/<id>/` is the post's own landing page (issue 12 item 2): the player,
caption, author, sound and counts, links to the post and the author, link previews with
absolute URLs (og:image, og:video with its type and size, twitter:card), the permalink as
canonical URL, and "Watch more" into the feed starting at this post. Who may open it is
content's one rule (`get_post_detail_for`), exactly as the permalink. And Report on the post
page and on profiles (item 5), for signed-in viewers other than the author."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import pytest
from django.test import Client

from apps.accounts.models import User
from apps.content.models import Post
from apps.engagement import services as engagement_services
from apps.media.signing import public_grant
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory

pytestmark = pytest.mark.django_db

Browser = Callable[[User | None], Client]
SITE = "http://127.0.0.1:8000"


def _playable_post(**fields: object) -> Post:
    asset = MediaAssetFactory(outputs={"hls": "hls/master.m3u8", "mp4": "video.mp4",
                                       "poster": "poster.jpg"}, width=720, height=1280)
    return PostFactory(author=asset.owner, asset=asset, **fields)


def _meta(html: str, key: str) -> str | None:
    found = re.search(rf'<meta (?:property|name)="{re.escape(key)}" content="([^"]*)"', html)
    return found.group(1) if found else None


def _state(html: str) -> dict[str, object]:
    found = re.search(r'<script id="post-state" type="application/json">(.*?)</script>', html)
    assert found is not None
    value: dict[str, object] = json.loads(found.group(1))
    return value


def test_the_share_link_is_a_landing_page_with_the_player_and_absolute_previews(
        browser_for: Browser) -> None:
    post = _playable_post(caption="Sunset over the bay #sea")
    grant = public_grant(post.asset_id, 1)
    media = f"{SITE}/api/v1/media/play/{post.asset_id}/{grant}"
    permalink = f"/@{post.author.username}/video/{post.pk}"

    response = browser_for(None).get(f"/p/{post.pk}/")

    assert response.status_code == 200
    html = response.content.decode()
    # the video plays here (the player and its sources), with caption, author and counts
    assert '<video id="post-player"' in html
    config = json.loads(re.search(r'id="player-config" type="application/json">(.*?)<',
                                  html).group(1))  # type: ignore[union-attr]
    assert config["hls"].endswith("/hls/master.m3u8")
    assert config["mp4"].endswith("/video.mp4")
    assert "Sunset over the bay" in html
    assert f'href="/@{post.author.username}"' in html
    assert 'data-count="likes"' in html
    # previews: every URL absolute, the MP4 anyone may fetch, its size, a large card
    assert _meta(html, "og:image") == f"{media}/poster.jpg"
    assert _meta(html, "og:video") == f"{media}/video.mp4"
    assert _meta(html, "og:video:type") == "video/mp4"
    assert (_meta(html, "og:video:width"), _meta(html, "og:video:height")) == ("720", "1280")
    assert _meta(html, "twitter:card") == "summary_large_image"
    assert _meta(html, "twitter:image") == f"{media}/poster.jpg"
    assert _meta(html, "og:url") == f"{SITE}{permalink}"
    assert f'<link rel="canonical" href="{SITE}{permalink}">' in html
    # links to the post itself and "Watch more" into the feed from this post
    assert f'href="{SITE}{permalink}"' in html
    assert f'href="/?start={post.pk}" data-watch-more' in html
    assert response["Cache-Control"] == "private, no-cache"


def test_a_post_without_its_mp4_yet_previews_its_hls(browser_for: Browser) -> None:
    asset = MediaAssetFactory(outputs={"hls": "hls/master.m3u8", "poster": "poster.jpg"})
    post = PostFactory(author=asset.owner, asset=asset)

    html = browser_for(None).get(f"/p/{post.pk}/").content.decode()

    assert (_meta(html, "og:video") or "").startswith(f"{SITE}/api/v1/media/play/")
    assert (_meta(html, "og:video") or "").endswith("/hls/master.m3u8")
    assert _meta(html, "og:video:type") == "application/x-mpegURL"


def test_a_post_not_yet_playable_says_your_video_only_to_its_author(browser_for: Browser) -> None:
    asset = MediaAssetFactory(outputs={})
    post = PostFactory(author=asset.owner, asset=asset)

    visitor = browser_for(None).get(f"/p/{post.pk}/").content.decode()
    own = browser_for(post.author).get(f"/p/{post.pk}/").content.decode()

    assert "Your video" not in visitor  # it was "Your video is still processing." to anyone
    assert "This video isn't ready to play yet." in visitor
    assert "Your video is still processing." in own


def test_the_share_link_follows_the_permalinks_visibility_rule(browser_for: Browser) -> None:
    author = UserFactory(is_private=True)
    post = PostFactory(author=author)
    follower, stranger = UserFactory(), UserFactory()
    FollowFactory(follower=follower, followee=author)

    # a private account's post: its approved follower opens the link, a stranger cannot
    shown = browser_for(follower).get(f"/p/{post.pk}/")
    assert shown.status_code == 200
    assert browser_for(stranger).get(f"/p/{post.pk}/").status_code == 404
    assert browser_for(None).get(f"/p/{post.pk}/").status_code == 404
    # and nothing a crawler could cache is previewed for it
    assert _meta(shown.content.decode(), "og:title") is None
    assert _meta(shown.content.decode(), "robots") == "noindex"


def test_the_author_opens_the_share_link_of_their_own_draft_without_previews(
        browser_for: Browser) -> None:
    post = PostFactory(status=Post.Status.DRAFT, published_at=None)

    own = browser_for(post.author).get(f"/p/{post.pk}/")

    assert own.status_code == 200
    assert _meta(own.content.decode(), "og:title") is None
    assert browser_for(UserFactory()).get(f"/p/{post.pk}/").status_code == 404


def test_a_blocked_viewer_gets_404_from_the_share_link(browser_for: Browser) -> None:
    post = PostFactory()
    viewer = UserFactory()
    BlockFactory(blocker=post.author, blocked=viewer)

    assert browser_for(viewer).get(f"/p/{post.pk}/").status_code == 404


def test_signed_out_visitors_are_asked_to_log_in_with_a_way_back(browser_for: Browser) -> None:
    post = PostFactory()

    html = browser_for(None).get(f"/p/{post.pk}/").content.decode()

    assert "Log in to like this video." in html
    assert f'href="/accounts/login/?next=%2Fp%2F{post.pk}%2F"' in html
    assert _state(html)["signed_in"] is False
    assert "data-report-type" not in html  # reporting needs an account


def test_the_page_knows_the_viewers_like_and_offers_report_to_others_only(
        browser_for: Browser) -> None:
    post = PostFactory()
    viewer = UserFactory()
    engagement_services.like_create(user=viewer, post=post)

    html = browser_for(viewer).get(f"/p/{post.pk}/").content.decode()
    own = browser_for(post.author).get(f"/p/{post.pk}/").content.decode()

    state = _state(html)
    assert (state["liked"], state["signed_in"], state["me"]) == (True, True, viewer.username)
    assert state["share_url"] == f"{SITE}/p/{post.pk}/"
    assert 'aria-pressed="true" data-post-like' in html
    assert f'data-report-type="post" data-report-id="{post.pk}"' in html
    assert "data-report-type" not in own


def test_profiles_offer_report_to_signed_in_visitors_other_than_the_owner(
        browser_for: Browser) -> None:
    owner = UserFactory()
    button = f'data-report-type="user" data-report-id="{owner.pk}"'

    assert button in browser_for(UserFactory()).get(f"/@{owner.username}").content.decode()
    assert button not in browser_for(owner).get(f"/@{owner.username}").content.decode()
    assert button not in browser_for(None).get(f"/@{owner.username}").content.decode()
