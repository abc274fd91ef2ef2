"""Publishing: media's hooks, the beat task for scheduled posts, exactly once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from apps.content import services, tasks
from apps.content.models import Hashtag, Post
from apps.media import hooks
from apps.media.models import MediaAsset
from tests.content.factories import MediaAssetFactory, PostFactory
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _processing_asset(owner):  # type: ignore[no-untyped-def]
    return MediaAssetFactory(owner=owner, state=MediaAsset.State.PROCESSING)


def _becomes_playable(asset: MediaAsset) -> None:
    MediaAsset.objects.filter(pk=asset.pk).update(playable_at=timezone.now())
    hooks.run_asset_playable_hooks(asset_id=asset.pk)


def test_content_registers_its_hooks_with_media():
    assert services.posts_publish_for_asset in hooks._playable_hooks
    assert services.posts_hold_for_failed_asset in hooks._failed_hooks


def test_the_playable_hook_publishes_a_waiting_post_once():
    author = UserFactory()
    asset = _processing_asset(author)
    post = services.post_create(author=author, asset_id=asset.pk, caption="#wait")
    assert post.status == Post.Status.PROCESSING

    _becomes_playable(asset)
    hooks.run_asset_playable_hooks(asset_id=asset.pk)  # a second call changes nothing

    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED
    assert post.published_at is not None
    assert Hashtag.objects.get().posts_count == 1


def test_the_playable_hook_leaves_drafts_and_scheduled_posts_alone():
    author = UserFactory()
    draft_asset, scheduled_asset = _processing_asset(author), _processing_asset(author)
    draft = services.post_create(author=author, asset_id=draft_asset.pk, publish="draft")
    later = timezone.now() + timedelta(hours=1)
    scheduled = services.post_create(author=author, asset_id=scheduled_asset.pk, publish=later)
    _becomes_playable(draft_asset)
    _becomes_playable(scheduled_asset)
    draft.refresh_from_db()
    scheduled.refresh_from_db()
    assert draft.status == Post.Status.DRAFT
    assert scheduled.status == Post.Status.SCHEDULED


def test_a_failed_upload_sends_its_waiting_post_back_to_draft():
    author = UserFactory()
    asset = _processing_asset(author)
    post = services.post_create(author=author, asset_id=asset.pk)
    MediaAsset.objects.filter(pk=asset.pk).update(state=MediaAsset.State.FAILED)
    hooks.run_asset_failed_hooks(asset_id=asset.pk)
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT


def test_the_beat_task_publishes_due_posts_and_not_early_ones():
    author = UserFactory()
    now = timezone.now()
    due = PostFactory(author=author, status=Post.Status.SCHEDULED, published_at=None,
                      scheduled_for=now - timedelta(seconds=1), caption="#due")
    services._apply_caption(due, services._parse("#due"), author=author)
    due.save()
    early = PostFactory(author=author, status=Post.Status.SCHEDULED, published_at=None,
                        scheduled_for=now + timedelta(minutes=10))

    assert tasks.publish_due_posts() == 1
    assert tasks.publish_due_posts() == 0

    due.refresh_from_db()
    early.refresh_from_db()
    assert due.status == Post.Status.PUBLISHED
    assert due.scheduled_for is None
    assert early.status == Post.Status.SCHEDULED
    assert Hashtag.objects.get().posts_count == 1


def test_a_due_post_whose_video_is_not_playable_waits_then_publishes_via_the_hook():
    author = UserFactory()
    asset = _processing_asset(author)
    post = PostFactory(author=author, asset=asset, status=Post.Status.SCHEDULED,
                       published_at=None, scheduled_for=timezone.now() - timedelta(minutes=1))

    assert services.posts_publish_due() == 0
    assert Post.objects.get(pk=post.pk).status == Post.Status.PROCESSING

    _becomes_playable(asset)
    assert Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHED


def test_the_sweep_publishes_a_processing_post_whose_hook_was_missed():
    author = UserFactory()
    post = PostFactory(author=author, status=Post.Status.PROCESSING, published_at=None)
    assert services.posts_publish_due() == 1
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED


def test_a_due_post_on_a_failed_upload_goes_back_to_draft():
    author = UserFactory()
    asset = MediaAssetFactory(owner=author, state=MediaAsset.State.REJECTED)
    post = PostFactory(author=author, asset=asset, status=Post.Status.SCHEDULED,
                       published_at=None, scheduled_for=timezone.now())
    services.posts_publish_due()
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT


def test_the_beat_entry_is_scheduled():
    entry = settings.CELERY_BEAT_SCHEDULE["content-publish-due-posts"]
    assert entry["task"] == "content.publish_due_posts"


def test_a_published_post_whose_upload_is_rejected_late_is_taken_down():
    author = UserFactory()
    post = services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk,
                                caption="#late")
    MediaAsset.objects.filter(pk=post.asset_id).update(state=MediaAsset.State.REJECTED)
    hooks.run_asset_failed_hooks(asset_id=post.asset_id)
    assert Post.objects.get(pk=post.pk).status == Post.Status.REMOVED
    assert Hashtag.objects.get().posts_count == 0


def test_a_published_post_stays_when_a_later_step_fails():
    author = UserFactory()
    post = services.post_create(author=author, asset_id=MediaAssetFactory(owner=author).pk)
    MediaAsset.objects.filter(pk=post.asset_id).update(state=MediaAsset.State.FAILED)
    hooks.run_asset_failed_hooks(asset_id=post.asset_id)
    assert Post.objects.get(pk=post.pk).status == Post.Status.PUBLISHED


def test_a_post_waiting_for_its_video_can_go_back_to_draft_or_be_scheduled():
    author = UserFactory()
    post = services.post_create(author=author, asset_id=_processing_asset(author).pk)
    assert post.status == Post.Status.PROCESSING
    services.post_update(user=author, post_id=post.pk, publish="draft")
    assert Post.objects.get(pk=post.pk).status == Post.Status.DRAFT
    services.post_update(user=author, post_id=post.pk,
                         publish=timezone.now() + timedelta(hours=1))
    assert Post.objects.get(pk=post.pk).status == Post.Status.SCHEDULED
    services.post_update(user=author, post_id=post.pk, publish="now")
    assert Post.objects.get(pk=post.pk).status == Post.Status.PROCESSING
