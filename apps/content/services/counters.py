"""Counters: published posts counted on their hashtags and sound (rows locked in primary-key
order), and `_publish`, the one way a post becomes published.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import F
from django.utils import timezone

from apps.content.hooks import content_changed, post_published, publish_held
from apps.content.models import Hashtag, Post, PostHashtag, Sound


def _move_hashtag_counts(hashtag_ids: Iterable[int], delta: int) -> None:
    ids = sorted(set(hashtag_ids))
    if not ids:
        return
    list(Hashtag.objects.select_for_update().filter(pk__in=ids).order_by("pk")
         .values_list("pk", flat=True))
    rows = Hashtag.objects.filter(pk__in=ids)
    if delta < 0:
        rows = rows.filter(posts_count__gte=-delta)
    rows.update(posts_count=F("posts_count") + delta)
    content_changed(kind="hashtag", ids=ids)


def _move_sound_count(sound_id: int | None, delta: int) -> None:
    if sound_id is None:
        return
    rows = Sound.objects.filter(pk=sound_id)
    if delta < 0:
        rows = rows.filter(posts_count__gte=-delta)
    rows.update(posts_count=F("posts_count") + delta)
    content_changed(kind="sound", ids=[sound_id])


def _count_published(post: Post, delta: int) -> None:
    tag_ids = PostHashtag.objects.filter(post_id=post.pk).values_list("hashtag_id", flat=True)
    _move_hashtag_counts(tag_ids, delta)
    _move_sound_count(post.sound_id, delta)


def _publish(post: Post, *, from_statuses: Iterable[str], now: datetime | None = None) -> bool:
    """Compare-and-set to published. True when this call published it (exactly once).
    A publish gate (moderation's pre-publish checks) may hold it in `reviewing` instead;
    from `reviewing` only `post_release_from_review` publishes."""
    moment = now or timezone.now()
    from_statuses = list(from_statuses)
    if Post.Status.REVIEWING not in from_statuses and publish_held(
        post_id=post.pk, asset_id=post.asset_id
    ):
        held = Post.objects.filter(pk=post.pk, status__in=from_statuses).update(
            status=Post.Status.REVIEWING, scheduled_for=None, updated_at=moment)
        if held:
            post.status, post.scheduled_for = Post.Status.REVIEWING, None
        return False
    updated = Post.objects.filter(pk=post.pk, status__in=list(from_statuses)).update(
        status=Post.Status.PUBLISHED, published_at=moment, scheduled_for=None,
        updated_at=moment,
    )
    if updated != 1:
        return False
    post.status, post.published_at, post.scheduled_for = Post.Status.PUBLISHED, moment, None
    _count_published(post, +1)
    post_published(post_id=post.pk)
    content_changed(kind="post", ids=[post.pk])
    return True
