"""Resilience for real: an upload interrupted mid-request resumes from the server's offset
(over the real ASGI server), and a worker process killed mid-transcode loses no job."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import psutil
import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.media import storage
from apps.media.models import MediaAsset, ProcessingStep
from tests.conftest import ROOT, _subprocess_env, _wait_for_other_db_sessions_to_finish
from tests.factories import UserFactory
from tests.media.conftest import make_clip, open_upload, tus_head, upload_file, wait_for


def _raw_patch(base: str, path: str, offset: int, declared: int, body: bytes) -> bytes:
    """A PATCH that declares `declared` bytes and may send fewer, then hangs up."""
    parts = urlsplit(base)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        head = (f"PATCH {path} HTTP/1.1\r\nHost: {parts.netloc}\r\nTus-Resumable: 1.0.0\r\n"
                f"Upload-Offset: {offset}\r\nContent-Type: application/offset+octet-stream\r\n"
                f"Content-Length: {declared}\r\nConnection: close\r\n\r\n")
        sock.sendall(head.encode() + body)
        if len(body) < declared:
            time.sleep(0.3)
            return b""  # the client dies mid-body
        return sock.recv(4096)


@pytest.mark.django_db(transaction=True)
def test_an_interrupted_upload_resumes_from_the_servers_offset(live_asgi_server, clips):
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    data = clips["vertical"].read_bytes()
    body = open_upload(client, len(data))
    path = urlsplit(body["upload_url"]).path

    # a first chunk arrives whole
    reply = _raw_patch(live_asgi_server, path, 0, 50_000, data[:50_000])
    assert reply.startswith(b"HTTP/1.1 204"), reply
    # the second is cut off mid-body: nothing of it is applied
    _raw_patch(live_asgi_server, path, 50_000, len(data) - 50_000, data[50_000:80_000])
    web = Client()
    wait_for(lambda: web.head(path, HTTP_TUS_RESUMABLE="1.0.0")["Upload-Offset"] == "50000",
             "the offset to settle", seconds=5)
    # the client asks where to resume, and finishes from there
    offset = int(tus_head(client, body["upload_url"])["Upload-Offset"])
    assert offset == 50_000
    reply = _raw_patch(live_asgi_server, path, offset, len(data) - offset, data[offset:])
    assert reply.startswith(b"HTTP/1.1 204"), reply
    asset = MediaAsset.objects.get(pk=int(body["id"]))
    assert asset.upload_offset == len(data)
    assert asset.state != "uploading"
    assert storage.source_path(asset.pk).read_bytes() == data


def _pool_child_running_ffmpeg(worker: psutil.Process) -> psutil.Process | None:
    for child in worker.children():
        if any("ffmpeg" in (grandchild.name() or "") for grandchild in child.children()):
            return child
    return None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_transcode_loses_no_job(celery_worker_process, tmp_path):
    # given a clip long enough that its renditions take a moment
    clip = make_clip(tmp_path / "long.mp4", size="720x1280", seconds=8.0)
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    asset_id = int(upload_file(client, clip, chunk=1_000_000))

    # when the worker process running a transcode is killed -9 (its ffmpeg too)
    worker = psutil.Process(celery_worker_process.pid)
    victim: list[psutil.Process] = []

    def transcoding() -> bool:
        child = _pool_child_running_ffmpeg(worker)
        running = ProcessingStep.objects.filter(
            asset_id=asset_id, state="running", name__in=["rendition-240", "ladder"]).exists()
        if child is not None and running:
            victim.append(child)
            return True
        return False

    wait_for(transcoding, "a transcode to be running", seconds=60)
    grandchildren = victim[0].children()
    victim[0].send_signal(signal.SIGKILL)
    for process in grandchildren:
        process.send_signal(signal.SIGKILL)

    # then the task is delivered again and the job finishes, nothing half-published
    wait_for(lambda: MediaAsset.objects.get(pk=asset_id).state in ("ready", "failed"),
             "the asset to finish after the kill", seconds=120)
    asset = MediaAsset.objects.get(pk=asset_id)
    assert asset.state == "ready", asset.state_reason
    steps = list(ProcessingStep.objects.filter(asset_id=asset_id))
    assert all(step.state == "done" for step in steps)
    assert max(step.attempts for step in steps) >= 2, [(s.name, s.attempts) for s in steps]
    master = (storage.asset_dir(asset_id) / "hls" / "master.m3u8").read_text()
    assert master.count("#EXT-X-STREAM-INF") == 4  # 240, 360, 540, 720
    storage.remove_asset_files(asset_id)


def _start_worker(name: str, queue: str, log_path: Path, *extra: str) -> subprocess.Popen[bytes]:
    log = log_path.open("ab")
    # the stalled-job sweep every 3 s, a step stalled after 15 s without a heartbeat (the
    # worker heart-beats every 5 s): the test takes a minute, not hours
    env = {**_subprocess_env(), "SWIPEME_MEDIA_STEP_STALL_SECONDS": "15",
           "SWIPEME_MEDIA_REQUEUE_EVERY": "3"}
    return subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "swipeme_site", "worker", "-Q", queue,
         "--concurrency", "1", "--pool", "prefork", "--loglevel", "INFO", "--without-gossip",
         "--without-mingle", "-n", f"{name}@%h", *extra],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
    )


def _node(name: str) -> str:
    """The full node name of a started worker, once it answers a ping."""
    from swipeme_site.celery import app

    found: list[str] = []

    def answers() -> bool:
        found.extend(node for reply in app.control.ping(timeout=1.0) or [] for node in reply
                     if node.startswith(f"{name}@"))
        return bool(found)

    wait_for(answers, f"worker {name} to start", seconds=420)  # a loaded machine is slow
    return found[0]


@pytest.mark.timeout(1200)
@pytest.mark.django_db(transaction=True)
def test_a_whole_worker_killed_mid_transcode_loses_no_job(tmp_path):
    """The whole worker (main process, pool process and ffmpeg) dies with SIGKILL: no
    process is left to re-deliver anything, and the broker keeps the message unacked
    (its visibility timeout is an hour). Another worker, with beat, takes over the media
    queue; the stalled-job sweep (`apps.media.requeue_stalled`) finds the step whose
    heartbeat stopped, re-queues it and the pending steps whose messages the dead worker
    held, and the job finishes."""
    from swipeme_site.celery import app

    # the session's shared worker, if one runs, stops taking media work meanwhile
    paused = [name for reply in app.control.cancel_consumer("media", reply=True) or []
              for name in reply]
    log_path = ROOT / "var" / "log" / f"{os.environ.get('SWIPEME_TEST_DB_NAME', 'test')}-kill.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # both start now (a loaded machine takes minutes to boot a worker); the second waits
    # on a queue of its own until the first is dead
    first = _start_worker("kill-first", "media", log_path)
    second = _start_worker("kill-second", "media-standby", log_path, "-B", "--scheduler",
                           "celery.beat:PersistentScheduler", "-s",
                           str(tmp_path / "beat-schedule"))
    asset_id = 0
    try:
        _node("kill-first")
        second_node = _node("kill-second")
        clip = make_clip(tmp_path / "long.mp4", size="720x1280", seconds=8.0)
        client = APIClient()
        client.force_authenticate(UserFactory())
        asset_id = int(upload_file(client, clip, chunk=1_000_000))

        # when the first worker is transcoding, it is killed whole: main process first
        main = psutil.Process(first.pid)

        def transcoding() -> bool:
            running = ProcessingStep.objects.filter(
                asset_id=asset_id, state="running",
                name__in=["rendition-240", "ladder"]).exists()
            tree = main.children(recursive=True)
            return running and any("ffmpeg" in (p.name() or "") for p in tree)

        wait_for(transcoding, "a transcode to be running", seconds=180)
        tree = [main, *main.children(recursive=True)]
        running = {s.name: s.attempts for s in ProcessingStep.objects.filter(
            asset_id=asset_id, state="running")}
        for process in tree:
            process.send_signal(signal.SIGKILL)
        psutil.wait_procs(tree, timeout=10)
        first.wait(timeout=10)
        assert not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in tree)
        assert MediaAsset.objects.get(pk=asset_id).state == "processing"

        # then the other worker takes the media queue and the sweep finishes the job
        app.control.add_consumer("media", destination=[second_node], reply=True)
        wait_for(lambda: MediaAsset.objects.get(pk=asset_id).state in ("ready", "failed"),
                 "the asset to finish after the whole worker died", seconds=600)
        asset = MediaAsset.objects.get(pk=asset_id)
        assert asset.state == "ready", asset.state_reason
        steps = {s.name: s for s in ProcessingStep.objects.filter(asset_id=asset_id)}
        assert all(step.state == "done" for step in steps.values())
        for name, attempts in running.items():  # the killed step ran again
            assert steps[name].attempts == attempts + 1, (name, attempts)
        master = (storage.asset_dir(asset_id) / "hls" / "master.m3u8").read_text()
        assert master.count("#EXT-X-STREAM-INF") == 4  # 240, 360, 540, 720
        assert not any((storage.asset_dir(asset_id) / ".work").glob("*"))
    finally:
        for worker in (first, second):
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
        if paused:
            app.control.add_consumer("media", destination=paused, reply=True)
        _wait_for_other_db_sessions_to_finish()
        if asset_id:
            storage.remove_asset_files(asset_id)
