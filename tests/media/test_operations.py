"""Staff and operations: the admin jobs view and re-run, media_reprocess, the stalled-job
sweep, and the owner-only progress websocket."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import timedelta

import pytest
import websockets
from asgiref.sync import sync_to_async
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.utils import timezone

from apps.media import services, storage
from apps.media.models import MediaAsset, ProcessingStep
from tests.factories import UserFactory


def _asset(state: str = "ready", **fields: object) -> MediaAsset:
    asset = MediaAsset.objects.create(owner=UserFactory(), state=state, **fields)
    storage.source_path(asset.pk).parent.mkdir(parents=True, exist_ok=True)
    storage.source_path(asset.pk).write_bytes(b"source")
    ProcessingStep.objects.create(asset=asset, name="rendition-240", state="done", attempts=1,
                                  log_tail="ffmpeg said hello")
    return asset


@pytest.mark.django_db
def test_admin_lists_jobs_with_steps_and_reruns(admin_client, monkeypatch):
    sent: list[int] = []
    monkeypatch.setattr("apps.media.tasks.process_asset.delay", lambda pk: sent.append(pk))
    asset = _asset()
    assert admin_client.get("/django-admin/media/mediaasset/").status_code == 200
    page = admin_client.get(f"/django-admin/media/mediaasset/{asset.pk}/change/")
    assert page.status_code == 200
    assert b"ffmpeg said hello" in page.content
    assert admin_client.get("/django-admin/media/processingstep/").status_code == 200
    response = admin_client.post("/django-admin/media/mediaasset/", {
        "action": "rerun", "_selected_action": [asset.pk]})
    assert response.status_code == 302
    asset.refresh_from_db()
    assert asset.state == "uploaded"
    assert not asset.steps.exists()  # validation plans them afresh
    storage.remove_asset_files(asset.pk)


@pytest.mark.django_db
def test_media_reprocess_command_by_state_and_date(monkeypatch, capsys):
    monkeypatch.setattr("apps.media.tasks.process_asset.delay", lambda pk: None)
    ready, failed = _asset("ready"), _asset("failed")
    uploading = MediaAsset.objects.create(owner=ready.owner)
    call_command("media_reprocess", "--state", "failed", "--dry-run")
    assert "would reprocess 1 assets" in capsys.readouterr().out
    call_command("media_reprocess", "--state", "failed")
    assert MediaAsset.objects.get(pk=failed.pk).state == "uploaded"
    assert MediaAsset.objects.get(pk=ready.pk).state == "ready"
    tomorrow = (timezone.now() + timedelta(days=1)).date().isoformat()
    capsys.readouterr()
    storage.remove_asset_files(ready.pk)  # no source kept: cannot be reprocessed
    call_command("media_reprocess", "--until", tomorrow)
    assert "reprocessing 1 of 2 assets (1 without a source" in capsys.readouterr().out
    call_command("media_reprocess", "--all")
    assert MediaAsset.objects.get(pk=uploading.pk).state == "uploading"
    for asset in (ready, failed):
        storage.remove_asset_files(asset.pk)


@pytest.mark.django_db
def test_stalled_steps_and_abandoned_uploads_are_swept(monkeypatch):
    sent: list[tuple[object, ...]] = []
    monkeypatch.setattr("apps.media.tasks.run_step.delay", lambda *a: sent.append(a))
    asset = _asset("processing")
    long_ago = timezone.now() - timedelta(hours=1)
    ProcessingStep.objects.create(asset=asset, name="mp4", state="running",
                                  heartbeat_at=long_ago, claimed_by="dead-worker")
    ProcessingStep.objects.create(asset=asset, name="poster", state="running",
                                  heartbeat_at=timezone.now(), claimed_by="alive")
    abandoned = MediaAsset.objects.create(owner=asset.owner, upload_expires_at=long_ago)
    leftover = storage.asset_dir(asset.pk) / ".work" / "mp4-deadbeef"
    leftover.mkdir(parents=True)
    os.utime(leftover, (long_ago.timestamp(), long_ago.timestamp()))
    live = storage.asset_dir(asset.pk) / ".work" / "poster-cafe"
    live.mkdir()
    result = services.assets_requeue_stalled()
    assert result["steps"] == 1
    assert result["expired"] == 1
    assert MediaAsset.objects.get(pk=abandoned.pk).state == "failed"
    assert not leftover.exists()  # what the dead worker left is cleaned up
    assert live.exists()
    # a stale step is claimable by a new task; a live one is not
    mp4 = asset.steps.get(name="mp4")
    assert services._claim(mp4, "new-task") is True
    assert services._claim(asset.steps.get(name="poster"), "new-task") is False
    storage.remove_asset_files(asset.pk)


@pytest.mark.django_db(transaction=True)
def test_progress_websocket_is_owner_only(live_asgi_server):
    owner, stranger = UserFactory(), UserFactory()
    asset = MediaAsset.objects.create(owner=owner, upload_length=100, upload_offset=50)
    url = live_asgi_server.replace("http://", "ws://") + f"/ws/media/assets/{asset.pk}/"

    def cookie_for(user: object) -> dict[str, str]:
        client = Client()
        client.force_login(user)  # type: ignore[arg-type]
        return {"Cookie": f"sessionid={client.cookies['sessionid'].value}"}

    async def watch(headers: dict[str, str]) -> list[dict[str, object]]:
        async with websockets.connect(url, origin=live_asgi_server,  # type: ignore[arg-type]
                                      additional_headers=headers) as ws:
            first = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await sync_to_async(_fail, thread_sensitive=False)(asset.pk)
            update = json.loads(await asyncio.wait_for(ws.recv(), 10))
            return [first, update]

    first, update = asyncio.run(watch(cookie_for(owner)))
    assert first["state"] == "uploading"
    assert first["upload_progress"] == 50
    assert update["state"] == "failed"
    assert update["reason"] == "test"
    for headers in (cookie_for(stranger), {}):
        with pytest.raises(websockets.exceptions.WebSocketException):
            asyncio.run(watch(headers))


def _fail(asset_id: int) -> None:
    MediaAsset.objects.filter(pk=asset_id).update(state="processing")
    services.asset_fail(asset_id=asset_id, reason="test")


@pytest.mark.django_db
def test_account_removal_deletes_the_media_files(django_capture_on_commit_callbacks):
    from apps.accounts.hooks import run_account_removal_hooks

    asset = _asset("ready")
    other = _asset("ready")
    # the hooks run inside the purge's transaction (accounts' services)
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        run_account_removal_hooks(user_id=asset.owner_id)
    assert not storage.asset_dir(asset.pk).exists()
    assert storage.asset_dir(other.pk).exists()
    storage.remove_asset_files(other.pk)
