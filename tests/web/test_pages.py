"""The post permalink, hashtag and sound pages: 200 for what the viewer may see, 404 for
anything else (the rule is `content.selectors` + `content.audience`, never re-implemented
here), Open Graph tags only for public posts, canonical URLs."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import timezone

from apps.content import services as content_services
from apps.content.models import Post, Sound
from apps.media.signing import public_grant
from tests.content.factories import LibrarySoundFactory, MediaAssetFactory, PostFactory
from tests.factories import UserFactory
from tests.social.factories import BlockFactory, FollowFactory

pytestmark = pytest.mark.django_db


def _permalink(post: Post) -> str:
    return f"/@{post.author.username}/video/{post.pk}"


def _minor() -> object:
    today = timezone.localdate()
    return UserFactory(date_of_birth=date(today.year - 15, 1, 1))


# --- post permalink ----------------------------------------------------------------------------


def test_a_public_post_plays_without_log_in_with_open_graph_tags(browser_for):
    post = PostFactory(caption="Sunset over the bay")
    response = browser_for(None).get(_permalink(post))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<meta property="og:type" content="video.other">' in html
    assert f'<meta property="og:url" content="http://127.0.0.1:8000{_permalink(post)}">' in html
    assert 'content="Sunset over the bay"' in html
    assert 'id="player-config"' in html or "isn't ready to play yet" in html
    assert response["Cache-Control"] == "private, no-cache"


def test_a_playable_post_hands_the_player_its_hls_and_mp4_urls(browser_for):
    asset = MediaAssetFactory(outputs={"hls": "hls/master.m3u8", "mp4": "video.mp4",
                                       "poster": "poster.jpg"})
    post = PostFactory(author=asset.owner, asset=asset)
    html = browser_for(None).get(_permalink(post)).content.decode()
    assert f"/api/v1/media/play/{asset.pk}/{public_grant(asset.pk, 1)}/hls/master.m3u8" in html
    assert f"/api/v1/media/play/{asset.pk}/{public_grant(asset.pk, 1)}/video.mp4" in html
    grant = public_grant(asset.pk, 1)
    poster = f"http://127.0.0.1:8000/api/v1/media/play/{asset.pk}/{grant}/poster.jpg"
    assert f'<meta property="og:image" content="{poster}">' in html
    assert '<video id="post-player"' in html


def test_what_the_viewer_may_not_see_is_a_404(browser_for):
    author = UserFactory()
    friends_only = PostFactory(author=author, visibility=Post.Visibility.FRIENDS)
    only_me = PostFactory(author=author, visibility=Post.Visibility.PRIVATE)
    draft = PostFactory(author=author, status=Post.Status.DRAFT, published_at=None)
    removed = PostFactory(author=author, status=Post.Status.REMOVED)
    stranger = UserFactory()
    for viewer in (None, stranger):
        for post in (friends_only, only_me, draft, removed):
            assert browser_for(viewer).get(_permalink(post)).status_code == 404
    # the author sees their own unpublished and removed posts, without OG tags
    own = browser_for(author).get(_permalink(draft))
    assert own.status_code == 200
    assert "og:title" not in own.content.decode()
    own_removed = browser_for(author).get(_permalink(removed))
    assert own_removed.status_code == 200
    assert "og:title" not in own_removed.content.decode()
    # a mutual follow sees the friends-only post
    friend = UserFactory()
    FollowFactory(follower=friend, followee=author)
    FollowFactory(follower=author, followee=friend)
    assert browser_for(friend).get(_permalink(friends_only)).status_code == 200


def test_a_blocked_viewer_gets_404_either_way(browser_for):
    post = PostFactory()
    blocked, blocking = UserFactory(), UserFactory()
    BlockFactory(blocker=post.author, blocked=blocked)
    BlockFactory(blocker=blocking, blocked=post.author)
    assert browser_for(blocked).get(_permalink(post)).status_code == 404
    assert browser_for(blocking).get(_permalink(post)).status_code == 404


def test_age_restricted_posts_are_hidden_from_minors_and_signed_out_viewers(browser_for):
    post = PostFactory(age_restricted=True)
    assert browser_for(None).get(_permalink(post)).status_code == 404
    assert browser_for(_minor()).get(_permalink(post)).status_code == 404
    adult = browser_for(UserFactory()).get(_permalink(post))
    assert adult.status_code == 200
    assert "og:title" not in adult.content.decode()  # never previewed for crawlers
    # and on the profile grid
    grid = browser_for(None).get(f"/@{post.author.username}").content.decode()
    assert str(post.pk) not in grid


def test_a_post_in_a_private_account_is_for_approved_followers(browser_for):
    author = UserFactory(is_private=True)
    post = PostFactory(author=author)
    assert browser_for(None).get(_permalink(post)).status_code == 404
    follower = UserFactory()
    FollowFactory(follower=follower, followee=author)
    assert browser_for(follower).get(_permalink(post)).status_code == 200


def test_the_permalink_redirects_to_the_authors_current_username(browser_for):
    post = PostFactory(author=UserFactory(username="NewName"))
    response = browser_for(None).get(f"/@oldname/video/{post.pk}")
    assert response.status_code == 301
    assert response["Location"] == f"/@NewName/video/{post.pk}"


@pytest.mark.parametrize("raw", ["abc", "0", "-5", "9" * 25, "1.5", "%00"])
def test_a_malformed_post_id_is_404_not_500(browser_for, raw):
    UserFactory(username="someone")
    assert browser_for(None).get(f"/@someone/video/{raw}").status_code == 404


def test_the_caption_links_its_hashtags_and_mentions(browser_for):
    mentioned = UserFactory(username="pal")
    author = UserFactory()
    post = content_services.post_create(
        author=author, asset_id=MediaAssetFactory(owner=author).pk,
        caption="With @pal at the #Beach <script>")
    html = browser_for(None).get(_permalink(post)).content.decode()
    assert '<a href="/@pal">@pal</a>' in html
    assert '<a href="/tag/beach">#Beach</a>' in html
    assert "&lt;script&gt;" in html
    assert "<script>" not in html.split('class="caption"', 1)[1].split("</p>", 1)[0]
    assert mentioned.pk


# --- hashtag and sound pages -----------------------------------------------------------------


def _tagged(author, caption: str, **kwargs) -> Post:  # type: ignore[no-untyped-def]
    return content_services.post_create(
        author=author, asset_id=MediaAssetFactory(owner=author).pk, caption=caption, **kwargs)


def test_the_hashtag_page_shows_only_visible_posts(browser_for):
    public = _tagged(UserFactory(), "#Cats are great")
    hidden = _tagged(UserFactory(), "#cats secretly", visibility=Post.Visibility.PRIVATE)
    restricted = _tagged(UserFactory(), "#cats late at night")
    Post.objects.filter(pk=restricted.pk).update(age_restricted=True)
    _tagged(UserFactory(), "#cats draft", publish="draft")
    response = browser_for(None).get("/tag/CATS")
    assert response.status_code == 200
    html = response.content.decode()
    assert _permalink(public) in html
    assert str(hidden.pk) not in html
    assert str(restricted.pk) not in html
    assert "#Cats" in html
    assert browser_for(None).get("/tag/nosuchtag").status_code == 404
    assert browser_for(None).get("/tag/" + "x" * 200).status_code == 404


def test_the_sound_page_offers_use_this_sound_for_a_usable_library_sound(browser_for):
    sound = LibrarySoundFactory(title="Summer Hit")
    author = UserFactory()
    post = _tagged(author, "dance", sound_id=sound.pk)
    response = browser_for(None).get(f"/sound/{sound.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Summer Hit" in html
    assert f'href="/upload?sound={sound.pk}"' in html
    assert _permalink(post) in html

    lapsed = LibrarySoundFactory(licence_expires_at=timezone.now() - timedelta(days=1))
    html = browser_for(None).get(f"/sound/{lapsed.pk}").content.decode()
    assert "Use this sound" not in html
    assert "no longer available" in html


def test_an_original_sound_only_used_by_hidden_posts_is_404(browser_for):
    author = UserFactory()
    post = _tagged(author, "mine only", visibility=Post.Visibility.PRIVATE)
    sound = Sound.objects.get(pk=int(post.original_sound_id or 0))
    assert browser_for(None).get(f"/sound/{sound.pk}").status_code == 404
    assert browser_for(author).get(f"/sound/{sound.pk}").status_code == 200
    for raw in ("abc", "0", "9" * 30):
        assert browser_for(None).get(f"/sound/{raw}").status_code == 404


def test_the_hashtag_page_costs_the_same_queries_for_two_or_twenty_posts(browser_for):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = browser_for(None)
    for _ in range(2):
        _tagged(UserFactory(), "#counted")
    client.get("/tag/counted")
    with CaptureQueriesContext(connection) as two:
        client.get("/tag/counted")
    for _ in range(18):
        _tagged(UserFactory(), "#counted")
    with CaptureQueriesContext(connection) as twenty:
        response = client.get("/tag/counted")
    assert response.content.decode().count('class="tile"') == 20
    assert len(twenty) == len(two)


def test_unknown_pages_render_the_sites_404(browser_for):
    response = browser_for(None).get("/@nobody/followers")
    assert response.status_code == 404
    assert "couldn't find this page" in response.content.decode()


def test_only_the_author_gets_pin_and_delete_on_the_permalink(browser_for):
    post = PostFactory()
    own = browser_for(post.author).get(_permalink(post)).content.decode()
    assert f'data-url="/api/v1/posts/{post.pk}/pin"' in own
    assert f'data-action="DELETE" data-url="/api/v1/posts/{post.pk}"' in own
    for viewer in (None, UserFactory()):
        html = browser_for(viewer).get(_permalink(post)).content.decode()
        assert "/pin" not in html
        assert f'data-url="/api/v1/posts/{post.pk}"' not in html
