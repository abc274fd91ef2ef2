"""End to end with the real Celery worker: an upload over tus, a post that waits in
`reviewing` while the media pipeline runs and our scan follows the frames and audio steps,
then goes out; comments and profile edits are scanned through their hooks."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apps.accounts.services import user_profile_update
from apps.comments.services import comment_create
from apps.content.models import Post
from apps.content.services import post_create
from apps.moderation.detection.models import AssetCheck, Scan, TermList
from apps.moderation.detection.services import asset_checks_clear
from apps.moderation.models import Case
from apps.moderation.policies import Policy
from tests.content.factories import MediaAssetFactory
from tests.factories import UserFactory
from tests.media.conftest import upload_file, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True),
              pytest.mark.usefixtures("moderation_gate_live")]


def test_an_upload_is_scanned_on_the_worker_before_its_post_goes_out(
        celery_worker_process, media):
    user = UserFactory()
    client = APIClient()
    client.force_authenticate(user)
    asset_id = int(upload_file(client, media["original"], chunk=256_000))
    response = client.post("/api/v1/posts", {"asset_id": asset_id, "caption": "sunset #sea"},
                           format="json")
    assert response.status_code == 201, response.content
    post_id = int(response.json()["id"])
    assert response.json()["status"] in ("processing", "reviewing")

    def published() -> bool:
        status = Post.objects.get(pk=post_id).status
        assert status not in ("removed", "draft"), status
        return status == "published"

    wait_for(published, "the post to be published after the checks", seconds=180)
    check = AssetCheck.objects.get(asset_id=asset_id)
    assert check.state == AssetCheck.State.DONE
    assert check.decided_at is not None
    post = Post.objects.get(pk=post_id)
    assert post.published_at is not None
    assert post.published_at >= check.decided_at  # nothing went out before the scan
    assert Scan.objects.filter(target_type="asset", target_id=asset_id, ok=True).exists()


def test_comments_and_profile_edits_are_scanned_through_their_hooks(
        celery_worker_process, media):
    TermList.objects.create(name="slurs", policy=Policy.HATE_HARASSMENT, terms="scumbag",
                            outcome="block")
    author = UserFactory()
    asset = MediaAssetFactory(owner=author)
    asset_checks_clear(asset_id=asset.pk, reason="arranged")
    post = post_create(author=author, asset_id=asset.pk, caption="hello there")
    assert Post.objects.get(pk=post.pk).status == "published"
    troll = UserFactory()
    comment = comment_create(author=troll, post=post, text="you absolute scumbag")
    user_profile_update(user=troll, bio="proud scumbag")

    wait_for(lambda: Case.objects.filter(target_type="comment", target_id=comment.pk).exists(),
             "a case for the comment")
    wait_for(lambda: Case.objects.filter(target_type="user", target_id=troll.pk).exists(),
             "a case for the bio")
