"""AV1 renditions for the videos that earn them (issue 23): the `av1` step encodes a tiny
clip with SVT-AV1 into fMP4 HLS that decodes, the master lists the AV1 variants only once
they exist and after the H.264 ones (exactly as before for an H.264-only client), and a
post passing the staff's view threshold sends the step once, on the bulk queue."""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import av
import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.core.models import AuditEvent
from apps.engagement import counters
from apps.experiments import config
from apps.experiments import services as flag_services
from apps.experiments.media_flags import AV1_VIEW_THRESHOLD
from apps.media import av1, services, storage
from apps.media.models import MediaAsset, ProcessingStep
from tests.bench_scripts import load_bench
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.media.conftest import make_clip
from tests.social.factories import FollowFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def bulk_queue() -> Iterator[str]:
    """Queues of this test alone (no worker serves them): what is sent stays to be read."""
    user, bulk = f"t-user-{uuid.uuid4().hex[:8]}", f"t-bulk-{uuid.uuid4().hex[:8]}"
    with override_settings(MEDIA_QUEUE_USER=user, MEDIA_QUEUE_BULK=bulk):
        yield bulk
    from celery import current_app

    with current_app.connection_for_write() as connection:
        connection.default_channel.client.delete(user, bulk)


def _messages(queue: str) -> list[tuple[str, list[Any]]]:
    from celery import current_app

    with current_app.connection_for_read() as connection:
        raw = connection.default_channel.client.lrange(queue, 0, -1)
    out = []
    for item in reversed(raw):
        message = json.loads(item)
        out.append((message["headers"]["task"], json.loads(base64.b64decode(message["body"]))[0]))
    return out


ROOT = Path(__file__).resolve().parents[2]
PLAYER_PAGE = """<!doctype html><video id="v" muted playsinline></video>
<script type="module">
import Hls from "/js/hls.light.mjs";
import { attachSource } from "/js/player/source.js";
const video = document.getElementById("v");
window.source = attachSource(video, { hls: "/hls/master.m3u8" }, { Hls });
video.play().catch(() => {});
</script>"""
# the feed's start-up: the master written from the post API's playback (inline_master.js)
# with the renditions the player picks for this browser (codecs.js), as player/player.js does
FEED_PAGE = """<!doctype html><video id="v" muted playsinline></video>
<script type="module">
import Hls from "/js/hls.light.mjs";
import { playbackRenditions } from "/js/player/codecs.js";
import { inlineMasterLoader, masterText } from "/js/player/inline_master.js";
import { attachSource } from "/js/player/source.js";
const playback = PLAYBACK;
const video = document.getElementById("v");
const master = masterText(playbackRenditions(playback));
window.source = attachSource(video, playback,
  { Hls, config: { pLoader: inlineMasterLoader(Hls, master) } });
video.play().catch(() => {});
</script>"""
PLAY_PATH = re.compile(r"^/api/v1/media/play/\d+/[^/]+/(.+)$")
TYPES = {
    ".mjs": "text/javascript",
    ".js": "text/javascript",
    ".m4s": "video/mp4",
    ".mp4": "video/mp4",
    ".m3u8": "application/vnd.apple.mpegurl",
}
# an H.264-only browser: Media Source refuses AV1
NO_AV1 = (
    "const ask = MediaSource.isTypeSupported.bind(MediaSource);"
    "MediaSource.isTypeSupported = (type) => !type.includes('av01') && ask(type);"
)


@pytest.fixture(scope="module")
def orm_beside_playwright() -> Iterator[None]:
    """The session's Playwright driver leaves its event loop running in this thread: a test
    that uses the browser and the ORM turns Django's async-safety check off, as
    tests/browser/conftest.py does (set here before the function-scoped database set-up)."""
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    yield
    if previous is None:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    else:
        os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def _play(
    browser: Any, hls_dir: Path, *, av1_decoder: bool, playback: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The asset's master played by the site's player start-up (static/js/player/source.js
    with hls.js light) in Chromium, files served from disk: the codec kept and whether
    frames were drawn. With `playback` (the post API's, its URLs on media.test) the feed's
    start-up instead: no master fetched, the one written from the API's renditions."""
    context = browser.new_context()
    page_html = (
        PLAYER_PAGE if playback is None else FEED_PAGE.replace("PLAYBACK", json.dumps(playback))
    )
    try:
        if not av1_decoder:
            context.add_init_script(NO_AV1)

        def serve(route: Any) -> None:
            path = route.request.url.split("media.test", 1)[1].split("?")[0]
            if path == "/":
                route.fulfill(body=page_html, content_type="text/html")
                return
            played = PLAY_PATH.match(path)
            if path == "/js/hls.light.mjs":
                file = ROOT / "node_modules" / "hls.js" / "dist" / "hls.light.mjs"
            elif path.startswith("/js/player/"):
                file = ROOT / "static" / "js" / "player" / path.removeprefix("/js/player/")
            elif played:  # the play endpoint's URL of a file (the feed's playback)
                file = hls_dir.parent / played.group(1)
            else:
                file = hls_dir / path.removeprefix("/hls/")
            if not file.is_file():
                route.fulfill(status=404, body="")
                return
            route.fulfill(body=file.read_bytes(), content_type=TYPES.get(file.suffix, ""))

        context.route("http://media.test/**", serve)
        page = context.new_page()
        page.goto("http://media.test/")
        page.wait_for_function("document.getElementById('v').currentTime > 0.5", timeout=20_000)
        return dict(
            page.evaluate(
                "() => { const h = window.source.hls; return {engine: window.source.engine,"
                " codecs: h.levels.map((l) => l.videoCodec),"
                " playing: h.levels[h.currentLevel].videoCodec,"
                " frames: document.getElementById('v')"
                ".getVideoPlaybackQuality().totalVideoFrames}; }"
            )
        )
    finally:
        context.close()


def _master(asset_id: int) -> str:
    return (storage.asset_dir(asset_id) / "hls" / "master.m3u8").read_text()


def test_the_av1_rendition_decodes_and_joins_the_master_after_the_h264_ones(
    orm_beside_playwright: None,
    browser: Any,
    tmp_path: Path,
    django_capture_on_commit_callbacks: Any,
    bulk_queue: str,
) -> None:
    asset = MediaAsset.objects.create(owner=UserFactory(), state="uploaded")
    source = storage.source_path(asset.pk)
    source.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(make_clip(tmp_path / "clip.mp4", size="144x256", seconds=1.5), source)
    try:
        assert services.asset_process(asset_id=asset.pk, task_id="v") == "planned"
        lowest = ProcessingStep.objects.get(asset=asset, name__startswith="rendition-").name
        rung = lowest.removeprefix("rendition-")  # a source under 240 is "240" at its size
        assert services.asset_step_run(asset_id=asset.pk, name=lowest, task_id="r") == "done"
        h264_only = _master(asset.pk)
        assert "av01" not in h264_only
        assert "av1-" not in h264_only
        # the upload's other steps are not this test's subject: done, but the frames
        ProcessingStep.objects.filter(asset=asset).exclude(name__in=[lowest, "frames"]).update(
            state="done"
        )

        with django_capture_on_commit_callbacks(execute=True):
            assert services.asset_av1_request(asset_id=asset.pk, via="views")
            assert not services.asset_av1_request(asset_id=asset.pk, via="views")  # once
        # always the bulk queue, though this is a person's upload (priority user)
        assert _messages(bulk_queue) == [("apps.media.run_step", [asset.pk, "av1"])]
        # the pending AV1 step is no part of the upload's readiness or progress: the last
        # of its own steps makes it ready at 100 %
        assert services.asset_step_run(asset_id=asset.pk, name="frames", task_id="f") == "done"
        asset.refresh_from_db()
        assert asset.state == "ready"
        assert asset.progress == 100
        assert ProcessingStep.objects.get(asset=asset, name="av1").state == "pending"
        # it runs on the ready asset, which stays ready (preset 12: tiny and fast, the test
        # checks the plumbing; not the `settings` fixture, whose override would outlive
        # bulk_queue's and leak its queue names into later tests)
        with override_settings(MEDIA_AV1_PRESET=12):
            assert services.asset_step_run(asset_id=asset.pk, name="av1", task_id="a") == "done"

        asset.refresh_from_db()
        assert asset.state == "ready"
        assert asset.progress == 100
        master = _master(asset.pk)
        # an H.264-only client sees the same variants in the same order, first one first
        assert master.startswith(h264_only)
        added = master[len(h264_only) :].splitlines()
        assert len(added) == 2
        assert added[1] == f"av1-{rung}/index.m3u8"
        codecs = re.search(r'CODECS="([^"]+)"', added[0])
        assert codecs is not None
        assert re.fullmatch(r"av01\.0\.\d\dM\.08,mp4a\.40\.2", codecs.group(1))
        init = storage.asset_dir(asset.pk) / "hls" / f"av1-{rung}" / "init.mp4"
        assert codecs.group(1).split(",")[0] == av1.codecs_of(init.read_bytes())
        assert asset.outputs["av1"][0]["uri"] == f"av1-{rung}/index.m3u8"
        # the play endpoint serves every file the AV1 playlist names (its allow-list)
        playlist = (init.parent / "index.m3u8").read_text()
        named = [line for line in playlist.splitlines() if line and not line.startswith("#")]
        named += re.findall(r'URI="([^"]+)"', playlist)
        assert named
        for name in ["index.m3u8", *named]:
            assert storage.servable_path(asset.pk, f"hls/av1-{rung}/{name}") is not None, name

        # the rendition decodes: AV1 video at the rung's size, every frame, and audio
        with av.open(str(init.parent / "index.m3u8")) as container:
            video = container.streams.video[0]
            assert video.codec_context.name in ("av1", "libdav1d")
            assert container.streams.audio, "the AV1 rendition carries the audio"
            frames = list(container.decode(video))
        assert (frames[0].width, frames[0].height) == (144, 256)
        assert len(frames) == 45  # 1.5 s at 30 fps
        # a 1 s first segment as H.264's (a keyframe forced at 1 s), then the rest
        durations = [float(d) for d in re.findall(r"#EXTINF:([0-9.]+)", playlist)]
        assert durations[0] == pytest.approx(1.0, abs=0.01)
        assert sum(durations) == pytest.approx(1.5, abs=0.05)
        assert len(durations) == 2
        second = init.parent / "second.mp4"  # the init + the 2nd segment: starts on a key
        second.write_bytes(init.read_bytes() + (init.parent / named[1]).read_bytes())
        with av.open(str(second)) as container:
            packet = next(container.demux(container.streams.video[0]))
            assert packet.is_keyframe
            assert packet.pts is not None
            assert packet.time_base is not None
            assert float(packet.pts * packet.time_base) == pytest.approx(1.0, abs=0.04)
        second.unlink()

        # and plays in the real browser: Chromium decodes AV1, so the player keeps only the
        # AV1 levels; a browser whose Media Source refuses AV1 plays the H.264 ones
        hls_dir = storage.asset_dir(asset.pk) / "hls"
        played = _play(browser, hls_dir, av1_decoder=True)
        assert played["engine"] == "hls.js"
        assert all(c.startswith("av01.") for c in played["codecs"])
        assert played["playing"].startswith("av01.")
        assert played["frames"] > 0
        played = _play(browser, hls_dir, av1_decoder=False)
        assert all(c.startswith("avc1.") for c in played["codecs"])
        assert played["frames"] > 0

        # the feed: its API's playback lists the AV1 renditions apart, each with the CODECS
        # of its init segment and its own media playlist; the H.264 list is as before
        viewer = UserFactory()
        post = PostFactory(asset=asset, author=asset.owner)
        FollowFactory(follower=viewer, followee=asset.owner)
        client = APIClient()
        client.force_authenticate(viewer)
        with override_settings(MEDIA_CDN_URL="http://media.test"):
            answer = client.get("/api/v1/feed/following")
        assert answer.status_code == 200, answer.content
        (item,) = [row for row in answer.json()["results"] if row["id"] == str(post.pk)]
        playback = item["media"]["playback"]
        assert [r["codecs"].split(".")[0] for r in playback["renditions"]] == ["avc1"]
        listed = playback["av1"]["renditions"]
        assert [r["codecs"] for r in listed] == [codecs.group(1)]
        assert listed[0]["playlist"].endswith(f"/hls/av1-{rung}/index.m3u8")
        assert playback["av1"]["start"] == {"index": 0, "playlist": listed[0]["playlist"]}
        # and the feed's player plays AV1 from it where Chromium decodes it, H.264 elsewhere
        played = _play(browser, hls_dir, av1_decoder=True, playback=playback)
        assert [c[:5] for c in played["codecs"]] == ["av01."]
        assert played["frames"] > 0
        played = _play(browser, hls_dir, av1_decoder=False, playback=playback)
        assert [c[:5] for c in played["codecs"]] == ["avc1."]
        assert played["frames"] > 0
    finally:
        storage.remove_asset_files(asset.pk)


def test_passing_the_staff_threshold_sends_the_av1_step_once(
    django_capture_on_commit_callbacks: Any, bulk_queue: str
) -> None:
    staff = UserFactory(is_staff=True)
    with django_capture_on_commit_callbacks(execute=True):
        flag_services.flag_save(
            actor=staff,
            key=AV1_VIEW_THRESHOLD,
            kind="multivariate",
            default_value=3,
            variations=[0, 3, 10_000],
            client_visible=False,
            reason="AV1 for our test posts",
        )
    config.forget()
    assert services.av1_view_threshold() == 3
    assert AuditEvent.objects.filter(app="experiments", verb="flag_create").count() == 1
    post = PostFactory(asset__state="ready", asset__probe={"width": 144, "height": 256})
    other = PostFactory(asset__state="ready", asset__probe={"width": 144, "height": 256})

    def views(post_id: int, count: int) -> None:
        with django_capture_on_commit_callbacks(execute=True):
            counters.record_delta(post_id=post_id, field="views_count", delta=count)
            counters.flush()

    try:
        views(post.pk, 2)  # 2 < 3
        assert not ProcessingStep.objects.filter(asset=post.asset, name="av1").exists()
        views(post.pk, 1)  # 3: passed
        views(post.pk, 5)  # far past: not again
        views(other.pk, 1)
        assert ProcessingStep.objects.filter(name="av1").count() == 1
        assert _messages(bulk_queue) == [("apps.media.run_step", [post.asset_id, "av1"])]

        # 0 turns it off; the operator's command asks for it again, audited
        with django_capture_on_commit_callbacks(execute=True):
            flag_services.flag_save(
                actor=staff,
                key=AV1_VIEW_THRESHOLD,
                kind="multivariate",
                default_value=0,
                variations=[0, 3, 10_000],
                client_visible=False,
            )
        config.forget()
        views(other.pk, 9)
        assert not ProcessingStep.objects.filter(asset=other.asset, name="av1").exists()
        with django_capture_on_commit_callbacks(execute=True):
            call_command(
                "media_reprocess", "--id", str(other.asset_id), "--av1", "--reason", "a staff pick"
            )
        assert ProcessingStep.objects.filter(asset=other.asset, name="av1").exists()
        assert (
            AuditEvent.objects.filter(
                app="media", verb="asset_av1_request", target_id=other.asset_id
            ).count()
            == 1
        )
    finally:
        config.forget()


def test_the_av1_bench_reports_bytes_quality_and_cpu_in_quick_mode() -> None:
    """bench/av1_quality.py cannot rot: its quick mode (a 1 s 270x480 clip, rung 240)
    encodes both codecs as the pipeline does, scores them and reports the figures."""
    bench = load_bench("av1_quality", name="bench_av1_quality")
    data = bench.main(["--quick"])
    run = data["per_run"][0]
    figures, ratios = run["figures"], run["ratios"]
    for codec in ("AV1", "H.264"):
        assert 0 < figures[f"talking-head {codec} VMAF (pipeline settings)"] <= 100
        assert figures[f"talking-head {codec} encode CPU per s of video"] > 0
    assert ratios["talking-head AV1/H.264 bytes (pipeline settings)"] > 0
    assert ratios["talking-head AV1/H.264 encode CPU"] > 0


def test_the_sweep_resends_a_ready_assets_lost_av1_step_once(
    django_capture_on_commit_callbacks: Any, bulk_queue: str
) -> None:
    """`process_asset` skips a ready asset, so the stalled-work sweep sends a lost AV1
    step itself (its bulk queue empty), and not again within the lease."""
    asset = MediaAsset.objects.create(owner=UserFactory(), state="ready", probe={"width": 1})
    step = ProcessingStep.objects.create(asset=asset, name="av1", state="pending")
    long_ago = timezone.now() - timedelta(hours=1)
    ProcessingStep.objects.filter(pk=step.pk).update(updated_at=long_ago)
    with django_capture_on_commit_callbacks(execute=True):
        assert services.assets_requeue_stalled()["av1"] == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert services.assets_requeue_stalled()["av1"] == 0  # the lease holds
    assert _messages(bulk_queue) == [("apps.media.run_step", [asset.pk, "av1"])]
