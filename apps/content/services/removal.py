"""Moderation's writes on posts and sounds (through these services only): removing,
holding for review and releasing, reinstating, setting a post's moderation flags, taking a
sound down.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.content.hooks import content_changed
from apps.content.models import Post, Sound
from apps.content.services.counters import _count_published, _publish
from apps.content.services.posts import _check_choice
from apps.content.services.public_media import posts_public_media_changed


def post_remove(*, post_id: int) -> bool:
    """For moderation's enforcement service: take a post down (it stays as evidence, seen
    by nobody but its author, marked removed: `selectors.visible_to_q`). Fixes tag and
    sound counts. Idempotent."""
    with transaction.atomic():
        post = (Post.objects.select_for_update().filter(pk=post_id)
                .exclude(status=Post.Status.REMOVED).first())
        if post is None:
            return False
        if post.status == Post.Status.PUBLISHED:
            _count_published(post, -1)
        post.status, post.pinned_at = Post.Status.REMOVED, None
        post.save(update_fields=["status", "pinned_at", "updated_at"])
        posts_public_media_changed(post_ids=[post.pk])
        content_changed(kind="post", ids=[post.pk])  # gone from search at once
    return True


def post_release_from_review(*, post_id: int) -> bool:
    """For moderation: its checks (or a moderator) cleared a held post; publish it now.
    Idempotent: False when the post is not (or no longer) in review."""
    with transaction.atomic():
        post = Post.objects.select_for_update().filter(
            pk=post_id, status=Post.Status.REVIEWING).first()
        if post is None:
            return False
        return _publish(post, from_statuses=[Post.Status.REVIEWING])


def post_reinstate(*, post_id: int, status: str) -> bool:
    """For moderation: an appeal overturned a removal; the post goes back to the status it
    had (`published` counts again, keeping its original publish time). Idempotent: False
    when the post is not removed."""
    _check_choice("status", status, [s for s in Post.Status.values if s != Post.Status.REMOVED])
    with transaction.atomic():
        post = Post.objects.select_for_update().filter(
            pk=post_id, status=Post.Status.REMOVED).first()
        if post is None:
            return False
        post.status = status
        post.save(update_fields=["status", "updated_at"])
        if status == Post.Status.PUBLISHED:
            _count_published(post, +1)
        content_changed(kind="post", ids=[post.pk])
    return True


def sound_set_taken_down(*, sound_id: int, taken_down: bool) -> bool:
    """For moderation: take a sound down (or put it back). True when it changed."""
    with transaction.atomic():
        changed = bool(Sound.objects.filter(pk=sound_id).exclude(is_taken_down=taken_down)
                       .update(is_taken_down=taken_down, updated_at=timezone.now()))
        if changed:
            content_changed(kind="sound", ids=[sound_id])
    return changed


def post_set_moderation_flags(*, post_id: int, **values: Any) -> dict[str, Any] | None:
    """For moderation's enforcement (and its undo): set the flags only moderation sets,
    `age_restricted`, `limited_reach` and `comment_policy`. Returns the values they had
    (to undo with), None when there is no such post. A post newly age-restricted is no
    longer watchable signed out, so its public media URLs change (CDN purge)."""
    unknown = set(values) - {"age_restricted", "limited_reach", "comment_policy"}
    if unknown or not values:
        raise ValueError(f"not a moderation flag: {sorted(unknown) or 'none given'}")
    if "comment_policy" in values:
        _check_choice("comment_policy", values["comment_policy"], Post.CommentPolicy.values)
    with transaction.atomic():
        prior: dict[str, Any] | None = Post.objects.filter(pk=post_id).values(*values).first()
        if prior is None:
            return None
        Post.objects.filter(pk=post_id).update(**values, updated_at=timezone.now())
        if values.get("age_restricted"):
            posts_public_media_changed(post_ids=[post_id])
        content_changed(kind="post", ids=[post_id])
    return prior
