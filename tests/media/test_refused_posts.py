"""A post whose upload media refused: it cannot be published (PATCH publish → 400 with
the upload's reason, never `processing` for ever), the reason is on the post (API and the
creator's web page), and the creator is told by e-mail. Real validation (ffmpeg-made
clip + an appended zip), real transactions."""

from __future__ import annotations

import io
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from apps.accounts.models import User
from apps.content.models import Post
from apps.content.services import post_create, post_release_from_review
from apps.media import services, storage
from apps.media.models import MediaAsset
from tests.content.factories import PostFactory
from tests.factories import UserFactory


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("payload.txt", "hello " * 100)
    return buffer.getvalue()


def _uploaded(owner: User, data: bytes) -> MediaAsset:
    asset = MediaAsset.objects.create(owner=owner, state="uploaded", upload_length=len(data),
                                      upload_offset=len(data))
    MediaAsset.objects.filter(pk=asset.pk).update(uploaded_at=asset.created_at)
    storage.source_path(asset.pk).parent.mkdir(parents=True, exist_ok=True)
    storage.source_path(asset.pk).write_bytes(data)
    return asset


@pytest.mark.django_db(transaction=True)
def test_a_post_made_before_validation_is_held_with_the_reason_and_the_creator_told(
        clips: dict[str, Path]):
    me = UserFactory(email="creator@example.com")
    asset = _uploaded(me, clips["vertical"].read_bytes() + _zip())
    post = post_create(author=me, asset_id=asset.pk, caption="first", publish="now")
    assert post.status == "processing"
    mail.outbox.clear()

    assert services.asset_process(asset_id=asset.pk, task_id="t") == "rejected"

    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT
    # the reason is on the post, for its author
    client = APIClient()
    client.force_authenticate(me)
    media = client.get(f"/api/v1/posts/{post.pk}").json()["media"]
    assert media["state"] == "rejected"
    assert media["problem"].startswith("The video file was refused: ")
    assert "zip" in media["problem"]
    # ... and on their web page of the post
    web = Client()
    web.force_login(me)
    page = web.get(f"/@{me.username}/video/{post.pk}").content.decode()
    assert "data-upload-problem" in page
    assert "The video file was refused" in page
    # ... and they were told by e-mail, with the reason and the post's link
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["creator@example.com"]
    assert "could not be published" in message.subject
    assert "zip" in message.body
    assert f"/video/{post.pk}" in message.body
    assert "failed" not in message.body.lower()  # refused, not failed


@pytest.mark.django_db(transaction=True)
def test_a_draft_on_a_refused_upload_cannot_be_published_or_scheduled(clips: dict[str, Path]):
    me = UserFactory()
    asset = _uploaded(me, clips["vertical"].read_bytes() + _zip())
    post = post_create(author=me, asset_id=asset.pk, publish="draft")
    services.asset_process(asset_id=asset.pk, task_id="t")
    client = APIClient()
    client.force_authenticate(me)

    response = client.patch(f"/api/v1/posts/{post.pk}", {"publish": "now"}, format="json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "asset_unusable"
    assert "refused" in error["message"]
    assert "zip" in error["message"]  # the upload's own reason
    assert "failed" not in error["message"]
    assert error["fields"]["publish"]
    tomorrow = (timezone.now() + timedelta(days=1)).isoformat()
    response = client.patch(f"/api/v1/posts/{post.pk}", {"publish": tomorrow}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "asset_unusable"
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT
    # editing the draft otherwise still works
    response = client.patch(f"/api/v1/posts/{post.pk}", {"caption": "kept"}, format="json")
    assert response.status_code == 200
    # and a new post on that upload says "refused", not "failed processing"
    other = Post.objects.filter(pk=post.pk)
    other.delete()
    response = client.post("/api/v1/posts", {"asset_id": str(asset.pk), "publish": "now"},
                           format="json")
    assert response.status_code == 400
    assert "refused" in response.json()["error"]["message"]
    assert "failed processing" not in response.json()["error"]["message"]


@pytest.mark.django_db(transaction=True)
def test_a_post_in_review_whose_upload_is_refused_is_held_and_can_never_be_released():
    # a post held for moderation's checks while its upload is still being processed
    me = UserFactory()
    asset = MediaAsset.objects.create(owner=me, state="processing", upload_length=10,
                                      upload_offset=10)
    post = PostFactory(author=me, asset=asset, status=Post.Status.REVIEWING,
                       published_at=None)
    mail.outbox.clear()
    # a late check refuses the file
    assert services.asset_reject(asset_id=asset.pk, reason="The file contains malware (X).")
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT
    assert "malware" in (post.upload_problem or "")
    assert len(mail.outbox) == 1
    # moderation clearing it later publishes nothing
    assert post_release_from_review(post_id=post.pk) is False
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT
