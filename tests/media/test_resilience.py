"""Resilience for real: an upload interrupted mid-request resumes from the server's offset
(over the real ASGI server), and a worker process killed mid-transcode loses no job."""

from __future__ import annotations

import signal
import socket
import time
from urllib.parse import urlsplit

import psutil
import pytest
from django.test import Client
from rest_framework.test import APIClient

from apps.media import storage
from apps.media.models import MediaAsset, ProcessingStep
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
