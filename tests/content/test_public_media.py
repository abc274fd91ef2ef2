"""Who may watch a post signed out is one rule (`content.selectors.publicly_watchable_q`):
the post API's playback URLs, the permalink's link previews and media's public grant all
follow it, and public media URLs change (the old ones 404 at the origin, and the CDN is
asked to purge them) whenever that answer may have changed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import date
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import urlparse

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.accounts.services import user_profile_update
from apps.content import services
from apps.content.models import Post
from apps.media import cdn, signing, storage
from apps.media.models import MediaAsset
from swipeme_site.celery import app as celery_app
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

SEGMENT = b"\x00segment" * 64
OUTPUTS = {"hls": "hls/master.m3u8", "mp4": "video.mp4", "poster": "poster.jpg"}


@pytest.fixture
def playable() -> Iterator[Callable[..., Post]]:
    """A post whose upload has real files on disk (master playlist, a segment, the MP4)."""
    made: list[int] = []

    def make(**post_kwargs: Any) -> Post:
        author = post_kwargs.pop("author", None) or UserFactory()
        asset = MediaAssetFactory(owner=author, outputs=OUTPUTS)
        base = storage.asset_dir(asset.pk)
        (base / "hls" / "240").mkdir(parents=True)
        (base / "hls" / "master.m3u8").write_text("#EXTM3U\n240/playlist.m3u8\n")
        (base / "hls" / "240" / "seg_0000.m4s").write_bytes(SEGMENT)
        (base / "video.mp4").write_bytes(SEGMENT)
        (base / "poster.jpg").write_bytes(b"\xff\xd8poster")
        made.append(asset.pk)
        return PostFactory(author=author, asset=asset, **post_kwargs)

    yield make
    for asset_id in made:
        storage.remove_asset_files(asset_id)


def client_of(user: User | None) -> APIClient:
    client = APIClient()
    if user is not None:
        client.force_authenticate(user)
    return client


def playback_of(client: APIClient, post: Post) -> dict[str, Any]:
    response = client.get(f"/api/v1/posts/{post.pk}")
    assert response.status_code == 200, response.content
    playback: dict[str, Any] = response.json()["media"]["playback"]
    return playback


def grant_of(url: str) -> str:
    return urlparse(url).path.split("/")[6]


def fetch(url: str) -> Any:
    return APIClient().get(urlparse(url).path)


def segment_of(master_url: str) -> str:
    return master_url.replace("hls/master.m3u8", "hls/240/seg_0000.m4s")


def adult() -> User:
    return UserFactory(date_of_birth=date(1990, 1, 1))


# --- item 12: one rule for "publicly watchable" --------------------------------------------


def test_an_age_restricted_post_plays_for_an_adult_through_signed_urls(playable):
    post = playable(age_restricted=True)

    playback = playback_of(client_of(adult()), post)

    # not a public grant (media would refuse it: a signed-out viewer may not see the post)
    assert signing.public_grant_version(post.asset_id, grant_of(playback["hls"])) is None
    for url in (playback["hls"], segment_of(playback["hls"]), playback["mp4"]):
        response = fetch(url)
        assert response.status_code == 200, url
        assert response["Cache-Control"].startswith("private")


def test_for_you_hands_an_adult_playable_urls_for_an_age_restricted_post(playable):
    from apps.feed import online, pools, ranking, serving

    for forget in (pools.forget, ranking.forget_model, online.reset, serving.forget_scored):
        forget()  # no pools or model cached from an earlier test
    restricted = playable(age_restricted=True)

    response = client_of(adult()).get("/api/v1/feed/for-you", {"limit": 20})

    assert response.status_code == 200, response.content
    items = {item["id"]: item for item in response.json()["results"]}
    playback = items[str(restricted.pk)]["media"]["playback"]
    assert signing.public_grant_version(restricted.asset_id, grant_of(playback["hls"])) is None
    assert fetch(playback["hls"]).status_code == 200
    assert fetch(segment_of(playback["hls"])).status_code == 200
    pools.forget()


def test_a_post_anyone_may_watch_gets_public_urls_that_serve_and_cache(playable):
    post = playable()

    playback = playback_of(client_of(None), post)

    assert grant_of(playback["hls"]) == signing.public_grant(post.asset_id, 1)
    master = fetch(playback["hls"])
    assert (master.status_code, master["Cache-Control"]) == (200, "public, max-age=5")
    segment = fetch(segment_of(playback["hls"]))
    assert (segment.status_code, segment["Cache-Control"]) == (
        200, "public, max-age=31536000, immutable")


@pytest.mark.parametrize("arrange", ["age_restricted", "deactivated_author"])
def test_every_surface_agrees_a_post_is_not_publicly_watchable(playable, arrange):
    # the post API (playback), the permalink (link previews) and media (public grant)
    author = UserFactory()
    post = playable(author=author, age_restricted=arrange == "age_restricted")
    viewer = adult()
    grant_public = signing.public_grant(post.asset_id, post.public_version)
    if arrange == "deactivated_author":
        # the author's own view: their post, not watchable by anyone else
        User.objects.filter(pk=author.pk).update(deactivated_at=timezone.now())
        viewer = author

    playback = playback_of(client_of(viewer), post)
    browser = APIClient()
    browser.force_login(viewer)  # a session: the page is a Django view
    page = browser.get(f"/@{author.username}/video/{post.pk}")

    assert grant_of(playback["hls"]) != grant_public
    assert fetch(playback["hls"]).status_code == 200
    assert page.status_code == 200
    assert page.context["public"] is False
    assert 'property="og:video"' not in page.content.decode()
    public_master = playback["hls"].replace(grant_of(playback["hls"]), grant_public)
    assert fetch(public_master).status_code == 404


def test_the_permalink_offers_link_previews_exactly_for_public_media(playable):
    post = playable()

    page = client_of(None).get(f"/@{post.author.username}/video/{post.pk}")

    assert page.context["public"] is True
    assert signing.public_grant(post.asset_id, 1) in page.context["og_video"]


# --- item 18: public URLs change with visibility; the CDN is asked to purge ---------------


def test_a_post_made_private_and_public_again_never_serves_its_old_public_urls(playable):
    post = playable()
    author = client_of(post.author)
    old = playback_of(client_of(None), post)
    assert fetch(segment_of(old["hls"])).status_code == 200

    assert author.patch(f"/api/v1/posts/{post.pk}", {"visibility": "private"},
                        format="json").status_code == 200

    for url in (old["hls"], segment_of(old["hls"]), old["mp4"], old["poster"]):
        assert fetch(url).status_code == 404, url
    # the author's own playback is signed and plays
    assert fetch(playback_of(author, post)["hls"]).status_code == 200

    assert author.patch(f"/api/v1/posts/{post.pk}", {"visibility": "public"},
                        format="json").status_code == 200

    new = playback_of(client_of(None), post)
    assert grant_of(new["hls"]) != grant_of(old["hls"])
    assert fetch(segment_of(new["hls"])).status_code == 200
    assert fetch(segment_of(old["hls"])).status_code == 404


@pytest.mark.parametrize("change", ["removed", "age_restricted", "account_private"])
def test_other_visibility_changes_retire_the_public_urls(
        playable, change, django_capture_on_commit_callbacks):
    post = playable()
    old = playback_of(client_of(None), post)
    if change == "removed":
        services.post_remove(post_id=post.pk)
    elif change == "age_restricted":
        from apps.moderation.services import _set_post_flag  # the enforcement write

        class Row:
            target_id, detail = post.pk, None

        _set_post_flag(Row(), age_restricted=True)  # type: ignore[arg-type]
    else:
        # (accounts runs its profile-changed hooks after the commit)
        with django_capture_on_commit_callbacks(execute=True):
            user_profile_update(user=post.author, is_private=True)

    assert fetch(segment_of(old["hls"])).status_code == 404
    assert Post.objects.get(pk=post.pk).public_version == 2


class _PurgeRecorder(BaseHTTPRequestHandler):
    seen: list[tuple[str, str, str | None]] = []

    def do_PURGE(self) -> None:
        self.seen.append((self.command, self.path, self.headers.get("Authorization")))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def cdn_server(settings: Any) -> Iterator[list[tuple[str, str, str | None]]]:
    """A local HTTP server standing in for the CDN's purge endpoint."""
    server = HTTPServer(("127.0.0.1", 0), _PurgeRecorder)
    _PurgeRecorder.seen = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.MEDIA_CDN_PURGE_URL = f"http://127.0.0.1:{server.server_port}/cdn"
    settings.MEDIA_CDN_PURGE_TOKEN = "purge-token"
    try:
        yield _PurgeRecorder.seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def tasks_inline() -> Iterator[None]:
    """Run Celery tasks in the caller (the real task code, without a worker)."""
    celery_app.conf.task_always_eager = True
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = False


def test_retiring_public_urls_purges_them_from_the_cdn(
        playable, cdn_server, tasks_inline, django_capture_on_commit_callbacks):
    post = playable()
    old_grant = grant_of(playback_of(client_of(None), post)["hls"])

    with django_capture_on_commit_callbacks(execute=True):
        client_of(post.author).patch(f"/api/v1/posts/{post.pk}", {"visibility": "friends"},
                                     format="json")

    assert cdn_server == [("PURGE", f"/cdn/api/v1/media/play/{post.asset_id}/{old_grant}/",
                           "Bearer purge-token")]


def test_a_public_account_saving_its_settings_keeps_its_public_urls(
        playable, django_capture_on_commit_callbacks):
    # players hold these URLs: only a change that hides the posts may move them
    post = playable()
    old = playback_of(client_of(None), post)

    with django_capture_on_commit_callbacks(execute=True):
        user_profile_update(user=post.author, is_private=False, bio="still public")

    assert fetch(segment_of(old["hls"])).status_code == 200
    assert playback_of(client_of(None), post)["hls"] == old["hls"]


def test_a_cdn_that_fails_the_purge_is_an_error_to_retry(settings):
    settings.MEDIA_CDN_PURGE_URL = "http://127.0.0.1:9"  # nothing listens (discard port)

    with pytest.raises(cdn.PurgeError):
        cdn.purge("/api/v1/media/play/1/p1-x/")


def test_never_published_posts_have_no_public_urls_to_retire(playable):
    draft = playable(status=Post.Status.DRAFT, published_at=None)

    assert services.posts_public_media_changed(post_ids=[draft.pk]) == 0
    assert MediaAsset.objects.filter(pk=draft.asset_id).exists()
