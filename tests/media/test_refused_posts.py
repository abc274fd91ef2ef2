"""A post whose upload media refused: it cannot be published (PATCH publish → 400 with
the upload's reason, never `processing` for ever), the reason is on the post (API and the
creator's web page), and the creator is told through notifications (issue 14: an
`upload_problem` in the inbox, e-mailed at once by their choice; content mails nothing
itself). Real validation (ffmpeg-made clip + an appended zip), real transactions."""

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
from apps.notifications import services as notification_services
from apps.notifications.models import Notification
from apps.notifications.services import texts
from tests.content.factories import PostFactory
from tests.factories import UserFactory
from tests.notifications.inbox_helpers import inbox_of, run_notification_tasks


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
    # ... and they are told through notifications: content mails nothing itself
    assert mail.outbox == []
    run_notification_tasks()
    (told,) = inbox_of(me.pk)
    assert told.type == "upload_problem"
    title, body, path = texts.describe(told)
    assert title == "Your video could not be published"
    assert "saved as a draft" in body
    assert "zip" in body
    assert path == f"/@{me.username}/video/{post.pk}"
    # ... e-mailed at once, with the reason and the post's link
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["creator@example.com"]
    assert message.subject == "SwipeMe: Your video could not be published"
    assert "zip" in message.body
    assert "The post: http" in message.body
    assert f"/@{me.username}/video/{post.pk}" in message.body
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
    run_notification_tasks()
    (told,) = Notification.objects.filter(recipient=me, type="upload_problem")
    assert "malware" in texts.describe(told)[1]
    assert len(mail.outbox) == 1
    assert mail.outbox[0].subject == "SwipeMe: Your video could not be published"
    # moderation clearing it later publishes nothing
    assert post_release_from_review(post_id=post.pk) is False
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT


@pytest.mark.django_db(transaction=True)
def test_a_published_post_whose_file_is_refused_later_is_taken_down_and_the_creator_told():
    # a late safety check refuses a file that was already playable and published
    me = UserFactory(email="creator@example.com")
    asset = MediaAsset.objects.create(owner=me, state="processing", upload_length=10,
                                      upload_offset=10, playable_at=timezone.now())
    post = PostFactory(author=me, asset=asset)
    mail.outbox.clear()
    assert services.asset_reject(asset_id=asset.pk, reason="The file contains malware (X).")
    post.refresh_from_db()
    assert post.status == Post.Status.REMOVED
    assert mail.outbox == []  # content mails nothing itself

    run_notification_tasks()
    (told,) = inbox_of(me.pk)
    assert told.type == "upload_problem"
    assert told.read_at is None
    title, body, path = texts.describe(told)
    assert title == "Your video was taken down"
    assert body.startswith("Your video was taken down after it was published.")
    assert "The video file was refused: The file contains malware (X)." in body
    assert path == f"/@{me.username}/video/{post.pk}"
    # the removed post's page still opens for its owner (the link goes somewhere), and the
    # web inbox shows the row with that link
    web = Client()
    web.force_login(me)
    assert web.get(path).status_code == 200
    inbox = web.get("/inbox").content.decode()
    row = inbox[inbox.index('data-type="upload_problem"'):]
    assert f'<a class="inbox-title" href="{path}">Your video was taken down</a>' in row
    assert "malware" in row
    (message,) = mail.outbox
    assert message.subject == "SwipeMe: Your video was taken down"
    assert "malware" in message.body
    assert f"/@{me.username}/video/{post.pk}" in message.body
    # told once, even if the event is announced again (a retried task)
    run_notification_tasks()
    assert services.asset_reject(asset_id=asset.pk, reason="again") is False
    assert Notification.objects.filter(recipient=me, type="upload_problem").count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_an_upload_problem_follows_the_creators_email_choice_and_is_always_in_the_inbox():
    me = UserFactory(email="creator@example.com")
    notification_services.preferences_update(
        user=me, channels={"upload_problem": {"email": False}})
    asset = MediaAsset.objects.create(owner=me, state="processing", upload_length=10,
                                      upload_offset=10)
    post = PostFactory(author=me, asset=asset, status=Post.Status.PROCESSING,
                       published_at=None)
    assert services.asset_fail(asset_id=asset.pk, reason="The encoder gave up.")
    run_notification_tasks()
    (told,) = inbox_of(me.pk)
    assert told.type == "upload_problem"
    assert told.data["post_id"] == str(post.pk)
    assert "The encoder gave up." in texts.describe(told)[1]
    assert mail.outbox == []  # e-mail off for this type: in the inbox only
