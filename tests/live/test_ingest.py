"""The ingest for real: nginx-rtmp asks Django about each publisher (wrong key, revoked key,
a second publisher refused), a reconnect within the window continues the same live and
its playlists, the transcoder's ladder (renditions, 1 s keyframes, CMAF HLS), the recording
and the frame, and the HLS served only to who may see the live."""

from __future__ import annotations

import itertools
import subprocess
from pathlib import Path

import av
import httpx
import pytest

from apps.accounts.models import User
from apps.live.models import LiveStream
from apps.live.services import key_revoke
from apps.social.services import follow_create
from tests.factories import UserFactory
from tests.live.conftest import Ingest, Publish, wait_until
from tests.live.live_helpers import client_for, host, set_up

pytestmark = pytest.mark.django_db(transaction=True)


def _state(live: LiveStream) -> str:
    live.refresh_from_db()
    return live.state


def _refused(proc: subprocess.Popen[bytes]) -> str:
    """The encoder gave up (nginx-rtmp closed the connection after Django's no)."""
    _, err = proc.communicate(timeout=30)
    assert proc.returncode != 0
    return err.decode(errors="replace")


def _playlist(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def test_wrong_and_revoked_keys_are_refused(live_ingest: Ingest, publish: Publish) -> None:
    creator = host()
    live, plain = set_up(creator)
    assert "Input/output error" in _refused(publish("live_" + "x" * 43, seconds=5))
    key_revoke(creator)
    _refused(publish(plain, seconds=5))
    assert _state(live) == LiveStream.State.CREATED  # nothing reached it
    live_dir = live_ingest.live_dir(live.pk)
    assert not (live_dir / "recording").exists()
    assert not (live_dir / "index.m3u8").exists()


def test_publish_transcodes_records_and_reconnects(live_ingest: Ingest,
                                                   publish: Publish) -> None:
    creator = host()
    live, plain = set_up(creator)
    encoder = publish(plain, seconds=60)
    wait_until(lambda: _state(live) == LiveStream.State.LIVE, what="the live to start")
    live_dir = live_ingest.live_dir(live.pk)
    master = wait_until(lambda: _playlist(live_dir / "index.m3u8"), what="the master")
    assert "480p/index.m3u8" in master
    assert "240p/index.m3u8" in master
    assert "720p" not in master  # nothing above the 854x480 source
    assert 'CODECS="avc1.' in master  # read from each init's avcC
    assert "mp4a.40.2" in master

    # a second encoder on the same key while the first is on air: refused
    _refused(publish(plain, seconds=5))
    assert _state(live) == LiveStream.State.LIVE

    playlist = live_dir / "480p" / "index.m3u8"
    wait_until(lambda: _playlist(playlist).count("#EXTINF") >= 3, what="3 segments")
    encoder.terminate()
    encoder.wait(timeout=10)
    wait_until(lambda: _state(live) == LiveStream.State.RECONNECTING, what="reconnecting")
    before = _playlist(playlist)

    # back within the window: the same live, its playlists continued after a discontinuity
    encoder = publish(plain, seconds=60)
    wait_until(lambda: _state(live) == LiveStream.State.LIVE, what="the live to resume")
    text = wait_until(lambda: (t := _playlist(playlist)) and "s2/" in t and t,
                      what="the second session's segments")
    assert LiveStream.objects.filter(host=creator).count() == 1
    assert "#EXT-X-DISCONTINUITY" in text
    assert '#EXT-X-MAP:URI="s2/init_0.mp4"' in text
    first_before = int(before.split("#EXT-X-MEDIA-SEQUENCE:")[1].split()[0])
    first_now = int(text.split("#EXT-X-MEDIA-SEQUENCE:")[1].split()[0])
    assert first_now >= first_before
    uris = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert uris[-1].startswith("s2/")

    # 1 s keyframes and the ladder's sizes, read back from the segments
    for variant, (name, height) in enumerate((("480p", 480), ("240p", 240))):
        session = live_dir / name / "s1"
        segments = sorted(session.glob("*.m4s"))[:3]
        data = (session / f"init_{variant}.mp4").read_bytes()
        data += b"".join(p.read_bytes() for p in segments)
        probe = live_dir / f"probe-{name}.mp4"
        probe.write_bytes(data)
        with av.open(str(probe)) as container:
            stream = container.streams.video[0]
            assert stream.codec_context.height == height
            base = stream.time_base
            assert base is not None
            keyframes = [float(packet.pts * base) for packet in container.demux(stream)
                         if packet.is_keyframe and packet.pts is not None]
        probe.unlink()
        gaps = [b - a for a, b in itertools.pairwise(keyframes)]
        assert len(gaps) >= 2, (name, keyframes)
        assert all(abs(gap - 1.0) < 0.1 for gap in gaps), (name, keyframes)

    # the recording of each connection and a recent frame for moderation
    wait_until(lambda: (live_dir / "frames" / "latest.jpg").exists(), what="a frame")
    assert sorted(p.name for p in (live_dir / "recording").glob("*.ts")) == ["0001.ts",
                                                                            "0002.ts"]

    # HLS only to who may see the live (THE rule): anyone for an "everyone" live
    url = f"{live_ingest.web}/live/{live.pk}/hls"
    with httpx.Client(timeout=10) as client:
        answer = client.get(f"{url}/index.m3u8")
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "application/vnd.apple.mpegurl"
        assert "no-cache" in answer.headers["cache-control"]
        segment = client.get(f"{url}/480p/{uris[-1]}")
        assert segment.status_code == 200
        assert "immutable" in segment.headers["cache-control"]
        for bad in ("../../etc/passwd", "recording/0001.ts", "frames/latest.jpg",
                    "480p/../../0001.ts", ".ingest.json", "480p/s1/.hidden.m4s"):
            refused = client.get(f"{url}/{bad}")
            assert refused.status_code == 404, bad

    # the host ends it: the publisher is dropped and the playlists end
    from apps.live.services import live_end

    live_end(live, reason=LiveStream.EndReason.HOST, by=creator)
    assert encoder.wait(timeout=30) != 0  # dropped mid-stream (it had 60 s to send)
    assert _playlist(playlist).rstrip().endswith("#EXT-X-ENDLIST")


def test_followers_live_is_served_to_followers_only(live_ingest: Ingest,
                                                    publish: Publish) -> None:
    creator = host()
    live, plain = set_up(creator, audience=LiveStream.Audience.FOLLOWERS)
    follower, stranger = UserFactory(), UserFactory()
    follow_create(follower=follower, followee=creator)
    publish(plain, seconds=30, size="426x240", audio=False)
    live_dir = live_ingest.live_dir(live.pk)
    wait_until(lambda: _playlist(live_dir / "240p" / "index.m3u8").count("#EXTINF") >= 1,
               what="a segment")
    master = wait_until(lambda: _playlist(live_dir / "index.m3u8"), what="the master")
    assert "240p/index.m3u8" in master
    assert "mp4a" not in master
    url = f"{live_ingest.web}/live/{live.pk}/hls/240p/index.m3u8"
    assert _get_as(live_ingest, None, url).status_code == 404
    refused = _get_as(live_ingest, stranger, url)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    assert _get_as(live_ingest, follower, url).status_code == 200
    assert _get_as(live_ingest, creator, url).status_code == 200


def _get_as(ingest: Ingest, user: User | None, url: str) -> httpx.Response:
    cookies: dict[str, str] = {}
    if user is not None:
        from django.contrib.auth import login
        from django.contrib.sessions.backends.db import SessionStore
        from django.test import RequestFactory

        request = RequestFactory().get("/")
        request.session = SessionStore()
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        request.session.save()
        cookies = {"sessionid": str(request.session.session_key)}
    return httpx.get(url, cookies=cookies, timeout=10)


def test_srt_publishes_through_the_lives_listener(live_ingest: Ingest,
                                                  publish: Publish) -> None:
    from apps.live.ingest import srt

    creator = host()
    live, _ = set_up(creator)
    url = wait_until(lambda: srt.srt_url(live), what="the live's SRT listener")
    port = srt.port_of(live.pk)
    assert port is not None
    # the host reads it on their live; nobody else does
    assert client_for(creator).get(f"/api/v1/live/{live.pk}").json()["srt_url"] == url
    assert live_ingest.srt_ports[0] <= port <= live_ingest.srt_ports[1]
    # a wrong passphrase fails SRT's handshake: nothing reaches the RTMP server
    wrong = url.split("passphrase=")[0] + "passphrase=" + "0" * 32 + "&pbkeylen=16"
    _refused(publish(wrong.replace("localhost", "127.0.0.1"), seconds=5))
    assert _state(live) == LiveStream.State.CREATED
    # the right one: the relay publishes with the host's key, the live starts over SRT
    publish(url.replace("localhost", "127.0.0.1"), seconds=30, size="426x240")
    wait_until(lambda: _state(live) == LiveStream.State.LIVE, what="the SRT live to start")
    assert live.protocol == "srt"
    assert live.publisher == f"srt:{port}"
    viewer = client_for(UserFactory()).get(f"/api/v1/live/{live.pk}").json()
    assert viewer["state"] == "live"
    assert viewer["srt_url"] is None
    wait_until(lambda: _playlist(live_ingest.live_dir(live.pk) / "240p" / "index.m3u8"),
               what="the SRT live's playlist")
