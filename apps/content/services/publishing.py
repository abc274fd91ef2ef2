"""Publishing from media's hooks and the beat: posts waiting for their asset, posts whose
asset failed, scheduled posts that are due.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from apps.content.hooks import post_upload_problem
from apps.content.models import Post, Sound
from apps.content.services._common import (
    _UNUSABLE_ASSET_STATES,
    PUBLISH_DUE_BATCH,
    asset_is_playable,
    media_playback_wanted,
)
from apps.content.services.counters import _publish
from apps.content.services.removal import post_remove
from apps.media.models import MediaAsset

logger = logging.getLogger(__name__)


def posts_publish_for_asset(*, asset_id: int) -> int:
    """Media's playable hook: publish the posts waiting on this asset. Idempotent."""
    published = 0
    with transaction.atomic():
        asset = MediaAsset.objects.filter(pk=asset_id).first()
        if asset is None or not asset_is_playable(asset):
            return 0
        Sound.objects.filter(source_asset_id=asset_id, duration_ms__isnull=True).update(
            duration_ms=asset.duration_ms)
        for post in Post.objects.filter(asset_id=asset_id, status=Post.Status.PROCESSING):
            published += _publish(post, from_statuses=[Post.Status.PROCESSING])
    return published


def posts_hold_for_failed_asset(*, asset_id: int) -> int:
    """Media's failed hook: posts waiting on a failed or rejected upload (processing,
    scheduled or in review) go back to draft; a published post whose upload media then
    rejected (e.g. a late safety check) is taken down. A published post whose later
    steps merely failed stays: it is playable. The creator is told why (notifications)."""
    with transaction.atomic():
        # a post in review (moderation's checks) cannot go out on this upload either
        on_the_way = [Post.Status.PROCESSING, Post.Status.SCHEDULED, Post.Status.REVIEWING]
        waiting = list(Post.objects.filter(
            asset_id=asset_id, status__in=[*on_the_way, Post.Status.DRAFT]
        ).values_list("pk", flat=True))
        held = Post.objects.filter(asset_id=asset_id, status__in=on_the_way).update(
            status=Post.Status.DRAFT, scheduled_for=None, updated_at=timezone.now())
        taken_down = []
        if MediaAsset.objects.filter(pk=asset_id, state=MediaAsset.State.REJECTED).exists():
            for post_id in Post.objects.filter(asset_id=asset_id,
                                               status=Post.Status.PUBLISHED) \
                    .values_list("pk", flat=True):
                if post_remove(post_id=post_id):
                    held += 1
                    taken_down.append(post_id)
        for post in Post.objects.filter(pk__in=waiting + taken_down).select_related("asset"):
            _tell_upload_problem(post, taken_down=post.pk in taken_down)
    return held


def _tell_upload_problem(post: Post, *, taken_down: bool) -> None:
    """Tells the creator why a post will not go out, through notifications (content's
    `post_upload_problem` hook: inbox, push, e-mail at once by their choices). The post
    keeps the reason too (`Post.upload_problem`), shown on it in the app and on the web."""
    asset = post.asset
    problem = post.upload_problem if not taken_down else (
        f"The video file was refused: {asset.state_reason}")
    if problem is None or asset.state_reason == MediaAsset.CANCELLED_REASON:
        return  # nothing to tell, or the creator cancelled the upload themselves
    post_upload_problem(post_id=post.pk, asset_id=asset.pk, taken_down=taken_down,
                        problem=problem)


def posts_publish_due(*, now: datetime | None = None, batch_size: int = PUBLISH_DUE_BATCH) -> int:
    """Beat: publish scheduled posts whose time came, exactly once even with several beats
    or workers (rows another transaction holds are skipped, and `_publish` is a
    compare-and-set). A post whose media is not playable yet waits in `processing` for
    media's playable hook. Also sweeps `processing` posts whose asset is playable (a hook
    that was missed). Returns how many posts this call published."""
    moment = now or timezone.now()
    published = 0
    with transaction.atomic():
        due = list(
            # Only the post rows: skipping rows whose upload media holds would leave a due
            # post unpublished by every runner; an asset turning playable meanwhile is
            # caught by the sweep below on the next run.
            Post.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("asset")
            .filter(status=Post.Status.SCHEDULED, scheduled_for__lte=moment)
            .order_by("scheduled_for", "pk")[:batch_size]
        )
        for post in due:
            if asset_is_playable(post.asset):
                published += _publish(post, from_statuses=[Post.Status.SCHEDULED])
            elif post.asset.state in _UNUSABLE_ASSET_STATES:
                Post.objects.filter(pk=post.pk, status=Post.Status.SCHEDULED).update(
                    status=Post.Status.DRAFT, scheduled_for=None, updated_at=moment)
            else:
                Post.objects.filter(pk=post.pk, status=Post.Status.SCHEDULED).update(
                    status=Post.Status.PROCESSING, scheduled_for=None, updated_at=moment)
                media_playback_wanted(post.asset_id)
    with transaction.atomic():
        waiting = list(
            Post.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(status=Post.Status.PROCESSING, asset__playable_at__isnull=False)
            .exclude(asset__state__in=_UNUSABLE_ASSET_STATES)
            .order_by("pk")[:batch_size]
        )
        for post in waiting:
            published += _publish(post, from_statuses=[Post.Status.PROCESSING])
    if published:
        logger.info("content.publish_due", extra={"published": published})
    return published
