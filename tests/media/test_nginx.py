"""docker/nginx.conf's media locations for real: the production config, run by Debian's
nginx on loopback ports (only addresses, ports, certificate and data paths rewritten; the
`http2 on` line dropped for Debian 12's nginx 1.22) in front of the real ASGI server with
SWIPEME_MEDIA_ACCEL_REDIRECT set. Every media request is checked by Django (grants, the
public hook) and its bytes are sent by nginx from the internal location: byte ranges,
416, ETag/304, exact types, cache lifetimes by kind, and nothing under /media/assets/
reachable directly."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from django.utils import timezone

from apps.content.models import Post
from apps.media import playback, signing, storage
from apps.media.models import MediaAsset
from tests.conftest import ROOT, _subprocess_env
from tests.content.factories import PostFactory
from tests.factories import UserFactory

SEGMENT = bytes(range(256)) * 40  # 10240 bytes
ACCEL = "/_media_assets/"


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_port(port: int, proc: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 300  # a loaded machine boots Django slowly
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            assert proc.poll() is None, f"{what} exited"
            time.sleep(0.1)
    raise AssertionError(f"{what} did not start")


def edge_config(text: str, *, web: int, http: int, https: int, base: Path) -> str:
    """The production config with this machine's ports and paths."""
    from django.conf import settings

    text = text.replace("server web:8000;", f"server 127.0.0.1:{web};")
    text = re.sub(r"\n\s*listen \[::\]:\d+[^;]*;", "", text)
    text = text.replace("listen 80 default_server;", f"listen 127.0.0.1:{http} default_server;")
    text = text.replace("listen 443 ssl default_server;",
                        f"listen 127.0.0.1:{https} ssl default_server;")
    text = text.replace("http2 on;", "")  # nginx >= 1.25.1; Debian 12 has 1.22
    text = text.replace("/etc/nginx/certs/", f"{base}/")
    text = text.replace("/data/media/", f"{Path(settings.MEDIA_ROOT).resolve()}/")
    text = text.replace("/srv/static/", f"{base}/static/")
    text = text.replace("pid /tmp/nginx.pid;", f"pid {base}/nginx.pid;")
    text = text.replace("access_log /dev/stdout main;", f"access_log {base}/access.log main;")
    return "user root;\n" + text


@pytest.fixture(scope="module")
def edge(django_db_setup: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                     else None)
    if exe is None:
        pytest.skip("no nginx here (make setup installs Debian's nginx)")
    base = tmp_path_factory.mktemp("edge")
    web_port, http_port, https_port = _port(), _port(), _port()
    web_log = (base / "web.log").open("wb")
    web = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "swipeme_site.asgi:application", "--host",
         "127.0.0.1", "--port", str(web_port), "--lifespan", "off"],
        env={**_subprocess_env(), "SWIPEME_MEDIA_ACCEL_REDIRECT": ACCEL}, cwd=ROOT,
        stdout=web_log, stderr=subprocess.STDOUT)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost", "-keyout", str(base / "privkey.pem"),
                    "-out", str(base / "fullchain.pem")], check=True, capture_output=True)
    config = base / "nginx.conf"
    config.write_text(edge_config((ROOT / "docker" / "nginx.conf").read_text(),
                                  web=web_port, http=http_port, https=https_port, base=base))
    checked = subprocess.run([exe, "-t", "-p", str(base), "-c", str(config)],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stderr
    nginx = subprocess.Popen([exe, "-p", str(base), "-c", str(config), "-g", "daemon off;"],
                             stdout=subprocess.DEVNULL, stderr=(base / "nginx.err").open("wb"))
    try:
        _wait_port(web_port, web, "uvicorn")
        _wait_port(https_port, nginx, "nginx")
        yield f"https://127.0.0.1:{https_port}"
    finally:
        for proc in (nginx, web):
            proc.terminate()
            proc.wait(timeout=20)
        web_log.close()


@pytest.fixture
def asset() -> Iterator[MediaAsset]:
    asset = MediaAsset.objects.create(owner=UserFactory(), state="ready",
                                      playable_at=timezone.now())
    base = storage.asset_dir(asset.pk)
    (base / "hls" / "240").mkdir(parents=True)
    (base / "hls" / "master.m3u8").write_text("#EXTM3U\n#EXT-X-VERSION:7\n")
    (base / "hls" / "240" / "seg_0000.m4s").write_bytes(SEGMENT)
    (base / "hls" / "240" / "init.mp4").write_bytes(b"init")
    (base / "poster.jpg").write_bytes(b"\xff\xd8\xff")
    (base / "source").write_bytes(b"the original upload")
    yield asset
    storage.remove_asset_files(asset.pk)


def _get(url: str, **headers: str) -> httpx.Response:
    return httpx.get(url, headers=headers, verify=False, timeout=30)


@pytest.mark.django_db(transaction=True)
def test_signed_media_through_nginx(edge: str, asset: MediaAsset):
    grant = playback.grant_for(asset.pk, public_version=None)

    def url(name: str, grant: str = grant) -> str:
        return edge + playback.media_url(asset.pk, grant, name)

    # a segment: checked by Django, sent by nginx with Django's cache lifetime
    response = _get(url("hls/240/seg_0000.m4s"))
    assert response.status_code == 200
    assert response.content == SEGMENT
    assert response.headers["content-type"] == "video/iso.segment"
    assert re.fullmatch(r"private, max-age=\d+", response.headers["cache-control"])
    assert response.headers["accept-ranges"] == "bytes"
    for name, value in (("access-control-allow-origin", "*"), ("x-content-type-options",
                        "nosniff"), ("cross-origin-resource-policy", "cross-origin")):
        assert response.headers.get_list(name) == [value], name  # once, not twice
    assert len(response.headers.get_list("cache-control")) == 1
    assert "x-accel-redirect" not in response.headers
    etag = response.headers["etag"]
    assert _get(url("hls/240/seg_0000.m4s"), **{"If-None-Match": etag}).status_code == 304

    # byte ranges: one range 206, past the end 416
    part = _get(url("hls/240/seg_0000.m4s"), Range="bytes=100-199")
    assert part.status_code == 206
    assert part.headers["content-range"] == f"bytes 100-199/{len(SEGMENT)}"
    assert part.content == SEGMENT[100:200]
    tail = _get(url("hls/240/seg_0000.m4s"), Range="bytes=-10")
    assert tail.status_code == 206
    assert tail.content == SEGMENT[-10:]
    beyond = _get(url("hls/240/seg_0000.m4s"), Range=f"bytes={len(SEGMENT)}-")
    assert beyond.status_code == 416
    assert beyond.headers["content-range"] == f"bytes */{len(SEGMENT)}"

    # playlists: their type, a short lifetime
    master = _get(url("hls/master.m3u8"))
    assert master.status_code == 200
    assert master.headers["content-type"] == "application/vnd.apple.mpegurl"
    assert master.headers["cache-control"] == "private, max-age=5"
    assert _get(url("poster.jpg")).headers["content-type"] == "image/jpeg"

    # Django still decides: a forged or expired grant, or a name that is not an output
    expired = signing.playback_grant(asset.pk, timezone.now() - timedelta(seconds=1))
    assert _get(url("hls/240/seg_0000.m4s", grant=expired)).status_code == 403
    assert _get(url("hls/240/seg_0000.m4s", grant="1-forged")).status_code == 403
    assert _get(url("source")).status_code == 404
    assert _get(url("hls/240/seg_0001.m4s")).status_code == 404
    # and nothing of an asset is reachable around it
    assert _get(f"{edge}/media/assets/{asset.pk}/source").status_code == 404
    assert _get(f"{edge}/media/assets/{asset.pk}/hls/240/seg_0000.m4s").status_code == 404
    assert _get(f"{edge}{ACCEL}{asset.pk}/source").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_public_media_through_nginx_is_cacheable(edge: str, asset: MediaAsset):
    public = playback.grant_for(asset.pk, public_version=1)
    segment = edge + playback.media_url(asset.pk, public, "hls/240/seg_0000.m4s")
    # not public while no published public post uses it
    assert _get(segment).status_code == 404
    post = PostFactory(asset=asset, author=asset.owner, visibility=Post.Visibility.PUBLIC)
    response = _get(segment)
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
    master = _get(edge + playback.media_url(asset.pk, public, "hls/master.m3u8"))
    assert master.headers["cache-control"] == "public, max-age=5"
    # once the post is private its public URLs answer 404 through nginx, and stay 404
    # after it is public again (it gets a new version)
    from apps.content.services import posts_public_media_changed

    Post.objects.filter(pk=post.pk).update(visibility=Post.Visibility.PRIVATE)
    posts_public_media_changed(post_ids=[post.pk])
    assert _get(segment).status_code == 404
    Post.objects.filter(pk=post.pk).update(visibility=Post.Visibility.PUBLIC)
    assert _get(segment).status_code == 404
    fresh = playback.grant_for(asset.pk, public_version=2)
    assert _get(edge + playback.media_url(asset.pk, fresh, "hls/240/seg_0000.m4s")) \
        .status_code == 200
