"""The feed page carries its first page (issue 22): the feed API's own answer for this
viewer (and, signed out, for the session id the page names), with the first video's start
playlist and first frame preloaded from the head; nothing embedded when there is nothing
to play or the answer could not be made (the script then asks the API itself)."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from apps.content.models import Post
from apps.media import storage
from apps.media.models import MediaAsset
from apps.media.playback import start_files
from apps.social.models import Follow
from tests.factories import UserFactory
from tests.feed import conftest as feed_fixtures
from tests.feed.conftest import make_post

pytestmark = pytest.mark.django_db
FOR_YOU = "/api/v1/feed/for-you"
# the feed tests' autouse fixture: no pools, model or scored pages from an earlier test
_fresh_feed_state = feed_fixtures._fresh_feed_state
EMBEDDED = re.compile(r'<script id="feed-first-page" type="application/json">(.*?)</script>', re.S)


def embedded(html: str) -> dict[str, Any] | None:
    found = EMBEDDED.search(html)
    return json.loads(found.group(1)) if found else None


def test_a_visitor_gets_the_apis_first_page_in_the_html_for_the_session_it_names() -> None:
    shown = [make_post() for _ in range(7)]
    rung = {
        "short_edge": 360,
        "width": 360,
        "height": 640,
        "bandwidth": 900_000,
        "average_bandwidth": 700_000,
        "codecs": "avc1.64001e,mp4a.40.2",
        "frame_rate": 30,
    }
    MediaAsset.objects.filter(posts__in=shown).update(
        outputs={"hls": "hls/master.m3u8", "renditions": [rung], "first_frame": "first_frame.jpg"}
    )
    hidden = [make_post(status=Post.Status.REMOVED), make_post(visibility=Post.Visibility.PRIVATE)]
    client = Client()
    response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    page = embedded(html)
    assert page is not None
    # a first visit: the page names a new session id and keeps it in the cookie
    session_id = page["session_id"]
    assert response.cookies["feed_session"].value == session_id
    ids = [item["id"] for item in page["results"]]
    assert len(ids) == 5
    assert set(ids) <= {str(p.pk) for p in shown}
    assert not set(ids) & {str(p.pk) for p in hidden}
    # made by the API for that session: its next link (the script's next request) goes on
    # with the rest; the same post objects as the API's
    following = Client().get(page["next"]).json()
    assert sorted(ids + [item["id"] for item in following["results"]]) == sorted(
        str(p.pk) for p in shown
    )
    detail = Client().get(f"/api/v1/posts/{ids[0]}").json()
    assert page["results"][0]["media"] == detail["media"]
    assert set(page["results"][0]) == set(following["results"][0])
    assert page["next"].startswith("http://testserver/api/v1/feed/for-you?")
    assert f"session_id={session_id}" in page["next"]
    # the first video's start playlist and first frame, preloaded from the head
    playback = page["results"][0]["media"]["playback"]
    head = html.split("</head>", 1)[0]
    assert (
        f'<link rel="preload" as="fetch" crossorigin="anonymous" data-first-page '
        f'href="{playback["start"]["playlist"]}">'
    ) in head
    # and a script (with the page's nonce) that reads its init and first segment from it
    assert f'data-playlist="{playback["start"]["playlist"]}"' in head
    still = playback["first_frame"]
    assert still
    assert (
        f'<link rel="preload" as="image" fetchpriority="high" data-first-page href="{still}">'
        in head
    )
    # the next load of this browser keeps its session id (the cookie): that session has
    # been served every post, so nothing is embedded (a new session would get five)
    again = client.get("/")
    assert "feed_session" not in again.cookies
    assert embedded(again.content.decode()) is None
    assert len(embedded(Client().get("/").content.decode())["results"]) == 5  # type: ignore[index]


def test_signed_in_pages_carry_the_viewers_own_answers() -> None:
    me, followed, stranger = UserFactory(), UserFactory(), UserFactory()
    Follow.objects.create(follower=me, followee=followed)
    mine = [make_post(author=followed) for _ in range(3)]
    make_post(author=stranger)
    client = Client()
    client.force_login(me)
    page = embedded(client.get("/following").content.decode())
    assert page is not None
    assert page["session_id"] == ""
    assert [item["id"] for item in page["results"]] == [str(p.pk) for p in reversed(mine)]
    assert page["results"][0]["viewer"]["follows_author"] is True
    api = client.get("/api/v1/feed/following", {"limit": "5"}).json()
    assert [item["media"] for item in page["results"]] == [item["media"] for item in api["results"]]
    assert page["next"] == api["next"]
    # signed out, Following asks to log in: no answer to carry
    assert embedded(Client().get("/following").content.decode()) is None


def test_nothing_to_play_or_a_refused_answer_embeds_nothing(settings: Any) -> None:
    html = Client().get("/").content.decode()
    assert embedded(html) is None  # an empty feed: the script asks (and says so)
    assert 'rel="preload" as="fetch"' not in html
    assert "feed-first-start" not in html
    make_post()
    # the API's own throttle refuses it: the page is still served, without the answer
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "anon_read": "1/min",
        },
    }
    client = Client()
    client.get(FOR_YOU)
    response = client.get("/")
    assert response.status_code == 200
    assert embedded(response.content.decode()) is None


PRELOADED = re.compile(
    r'<link rel="preload" as="fetch" crossorigin="anonymous" data-first-page href="([^"]+)">')


def test_the_start_playlists_init_and_first_segment_are_asked_for_before_the_style_sheets(
    settings: Any, tmp_path: Any
) -> None:
    # given a post whose start rung's playlist names tagged files (a sound mix's)
    settings.MEDIA_ROOT = tmp_path
    post = make_post()
    rung = {"short_edge": 360, "width": 360, "height": 640, "bandwidth": 900_000,
            "average_bandwidth": 700_000, "codecs": "avc1.64001e,mp4a.40.2", "frame_rate": 30}
    MediaAsset.objects.filter(pk=post.asset_id).update(
        outputs={"hls": "hls/master.m3u8", "renditions": [rung]})
    folder = storage.asset_dir(post.asset_id) / "hls" / "360"
    folder.mkdir(parents=True)
    (folder / "index.m3u8").write_text(
        '#EXTM3U\n#EXT-X-VERSION:7\n#EXT-X-MAP:URI="init_0a1b2c3d.mp4"\n'
        "#EXTINF:1.000000,\nseg_0a1b2c3d_0000.m4s\n#EXTINF:2.000000,\nseg_0a1b2c3d_0001.m4s\n"
        "#EXT-X-ENDLIST\n")
    (folder / "init_0a1b2c3d.mp4").write_bytes(b"\0" * 16)
    (folder / "seg_0a1b2c3d_0000.m4s").write_bytes(b"\0" * 64)

    # when a visitor opens the feed
    html = Client().get("/").content.decode()

    # then the head asks for the playlist, its init and its first segment, first of all
    head = html.split("</head>", 1)[0]
    playlist = embedded(html)["results"][0]["media"]["playback"]["start"]["playlist"]  # type: ignore[index]
    folder_url = playlist.rsplit("/", 1)[0]
    assert PRELOADED.findall(head) == [
        playlist, f"{folder_url}/init_0a1b2c3d.mp4", f"{folder_url}/seg_0a1b2c3d_0000.m4s"]
    assert head.index("seg_0a1b2c3d_0000.m4s") < head.index('rel="stylesheet"')
    assert "feed-first-start" not in head  # no script needed to read the playlist first
    # and those are the files the play endpoint serves, immutable (hls.js reads them from the
    # HTTP cache)
    for url in PRELOADED.findall(head)[1:]:
        served = Client().get(url)
        assert served.status_code == 200
        assert "immutable" in served["Cache-Control"]


def test_start_files_answers_nothing_for_what_is_not_a_readable_play_playlist(
    settings: Any, tmp_path: Any
) -> None:
    settings.MEDIA_ROOT = tmp_path
    post = make_post()
    assert start_files("https://elsewhere.example/not/a/play/url.m3u8") == []
    playlist = f"/api/v1/media/play/{post.asset_id}/x/hls/360/index.m3u8"
    assert start_files(playlist) == []  # no such file
    assert start_files(playlist.replace("index.m3u8", "init.mp4")) == []  # not a playlist
