"""Abandoning uploads: the owner cancels one (tus termination on the upload URL, or
DELETE on the upload's id), its bytes go and its slot among the uploads in progress is
free at once; an upload nobody sends bytes to expires after MEDIA_UPLOAD_IDLE_TIMEOUT,
not after a day; a post waiting on either goes back to draft."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content.models import Post
from apps.content.services import post_create
from apps.media import services, storage
from apps.media.models import MediaAsset
from tests.factories import UserFactory
from tests.media.conftest import TUS, open_upload, tus_head, tus_patch
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks

pytestmark = pytest.mark.django_db


def _client() -> tuple[APIClient, User]:
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    return client, user


def _open(client: APIClient) -> Any:
    return client.post("/api/v1/media/uploads", {"size": 10, "content_type": "video/mp4"},
                       format="json")


@override_settings(MEDIA_UPLOAD_MAX_CONCURRENT=3)
def test_cancelling_an_upload_frees_its_slot_and_deletes_its_bytes(
        django_capture_on_commit_callbacks):
    client, _user = _client()
    first = open_upload(client, 10)
    open_upload(client, 10)
    open_upload(client, 10)
    assert tus_patch(client, first["upload_url"], b"abc", 0).status_code == 204
    source = storage.source_path(int(first["id"]))
    assert source.exists()
    refused = _open(client)
    assert refused.status_code == 429
    assert "cancel" in refused.json()["error"]["message"]

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/media/uploads/{first['id']}")
    assert response.status_code == 204
    assert not source.exists()
    asset = MediaAsset.objects.get(pk=int(first["id"]))
    assert asset.state == "failed"
    assert asset.state_reason == "The upload was cancelled."
    # the slot is free at once
    assert _open(client).status_code == 201
    # the upload URL is gone, and a second DELETE finds nothing
    assert tus_head(client, first["upload_url"]).status_code == 404
    assert tus_patch(client, first["upload_url"], b"d", 3).status_code == 404
    assert client.delete(f"/api/v1/media/uploads/{first['id']}").status_code == 404


def test_only_the_owner_can_cancel_and_finished_uploads_cannot_be():
    client, _user = _client()
    body = open_upload(client, 3)
    other, _ = _client()
    response = other.delete(f"/api/v1/media/uploads/{body['id']}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert APIClient().delete(f"/api/v1/media/uploads/{body['id']}").status_code == 401
    assert other.delete("/api/v1/media/uploads/99999999999999999999").status_code == 404
    assert MediaAsset.objects.get(pk=int(body["id"])).state == "uploading"
    # a finished upload is not an upload in progress any more
    assert tus_patch(client, body["upload_url"], b"abc", 0).status_code == 204
    response = client.delete(f"/api/v1/media/uploads/{body['id']}")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "upload_complete"
    storage.remove_asset_files(int(body["id"]))


def test_tus_termination_on_the_upload_url():
    client, _user = _client()
    response = client.options("/api/v1/media/uploads/anything")
    assert "termination" in response["Tus-Extension"].split(",")
    body = open_upload(client, 10)
    assert tus_patch(client, body["upload_url"], b"abcd", 0).status_code == 204
    untyped: Any = APIClient()  # the signed URL is the credential: no session needed
    assert untyped.delete(body["upload_url"]).status_code == 412  # Tus-Resumable missing
    response = untyped.delete(body["upload_url"], **TUS)
    assert response.status_code == 204
    assert response["Tus-Resumable"] == "1.0.0"
    assert not storage.source_path(int(body["id"])).exists()
    assert untyped.delete(body["upload_url"], **TUS).status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_post_waiting_on_a_cancelled_upload_goes_back_to_draft_with_the_reason():
    client, user = _client()
    body = open_upload(client, 10)
    post = post_create(author=user, asset_id=int(body["id"]), publish="now")
    assert post.status == "processing"
    assert client.delete(f"/api/v1/media/uploads/{body['id']}").status_code == 204
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT
    assert MediaAsset.CANCELLED_REASON in (post.upload_problem or "")
    # the creator cancelled it themselves: no "could not be published" notification
    # (nor its e-mail)
    run_notification_tasks()
    assert not [n for n in inbox_of(user.pk) if n.type == "upload_problem"]
    assert not [m for m in mail.outbox if user.email in m.to]


@override_settings(MEDIA_UPLOAD_IDLE_TIMEOUT=timedelta(minutes=10),
                   MEDIA_UPLOAD_URL_TTL=timedelta(hours=24))
def test_an_idle_upload_expires_after_the_idle_timeout_and_bytes_move_it_on():
    client, _user = _client()
    before = timezone.now()
    body = open_upload(client, 10)
    asset = MediaAsset.objects.get(pk=int(body["id"]))
    assert asset.upload_expires_at is not None
    assert asset.upload_expires_at <= timezone.now() + timedelta(minutes=10)
    assert asset.upload_expires_at >= before + timedelta(minutes=9)
    # bytes are a sign of life: the deadline moves on from the last chunk
    MediaAsset.objects.filter(pk=asset.pk).update(
        upload_expires_at=timezone.now() + timedelta(seconds=5))
    assert tus_patch(client, body["upload_url"], b"abc", 0).status_code == 204
    asset.refresh_from_db()
    assert asset.upload_expires_at > timezone.now() + timedelta(minutes=9)
    # but never past the URL's lifetime from the opening
    MediaAsset.objects.filter(pk=asset.pk).update(
        created_at=timezone.now() - timedelta(hours=23, minutes=58))
    assert tus_patch(client, body["upload_url"], b"d", 3).status_code == 204
    asset.refresh_from_db()
    assert asset.upload_expires_at <= timezone.now() + timedelta(minutes=3)


@override_settings(MEDIA_UPLOAD_IDLE_TIMEOUT=timedelta(minutes=10),
                   MEDIA_UPLOAD_MAX_CONCURRENT=1)
def test_the_sweep_expires_abandoned_uploads_and_frees_the_slot(
        django_capture_on_commit_callbacks):
    client, user = _client()
    body = open_upload(client, 10)
    assert tus_patch(client, body["upload_url"], b"abc", 0).status_code == 204
    post = post_create(author=user, asset_id=int(body["id"]), publish="now")
    assert _open(client).status_code == 429
    # ten minutes without a byte (the deadline the last chunk set has passed)
    MediaAsset.objects.filter(pk=int(body["id"])).update(
        upload_expires_at=timezone.now() - timedelta(seconds=1))
    assert _open(client).status_code == 201  # an abandoned upload holds no slot
    with django_capture_on_commit_callbacks(execute=True):
        result = services.assets_requeue_stalled()
    assert result["expired"] == 1
    asset = MediaAsset.objects.get(pk=int(body["id"]))
    assert asset.state == "failed"
    assert "abandoned" in asset.state_reason
    assert not storage.source_path(asset.pk).exists()
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT
