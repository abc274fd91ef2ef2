"""Duets and stitches: a post credits the post it borrows from (`Post.derived_from`). The
studio decides (its rule, `apps.studio.derived`) and calls these; content only keeps the
link and says when it ends."""

from __future__ import annotations

from django.db import transaction

from apps.content.hooks import content_changed, post_borrowed_part_removed
from apps.content.models import Post, Sound


def post_set_derived(*, post_id: int, original_id: int, kind: str) -> bool:
    """Record that `post_id` is a duet or stitch of `original_id` (idempotent). False when
    either post is gone."""
    if kind not in (Post.DerivedKind.DUET, Post.DerivedKind.STITCH):
        raise ValueError(f"not a derived kind: {kind!r}")
    with transaction.atomic():
        if not Post.objects.filter(pk=original_id).exists():
            return False
        changed = Post.objects.filter(pk=post_id).update(derived_from_id=original_id,
                                                         derived_kind=kind)
        if changed:
            content_changed(kind="post", ids=[post_id])
    return bool(changed)


def post_clear_derived(*, post_id: int, original_author_id: int | None, kind: str) -> bool:
    """The post no longer borrows from its original (it left public view): the credit
    goes, its own original sound (whose audio has the borrowed sound in it) can no longer
    be reused, and its creator is told (`post_borrowed_part_removed`). False when there
    was nothing to clear."""
    with transaction.atomic():
        post = (Post.objects.select_for_update().filter(pk=post_id)
                .only("pk", "derived_from_id", "derived_kind", "original_sound_id").first())
        if post is None or post.derived_kind == Post.DerivedKind.NONE:
            return False
        Post.objects.filter(pk=post_id).update(derived_from_id=None,
                                               derived_kind=Post.DerivedKind.NONE)
        if post.original_sound_id is not None and Sound.objects.filter(
                pk=post.original_sound_id, allow_reuse=True).update(allow_reuse=False):
            content_changed(kind="sound", ids=[post.original_sound_id])
        content_changed(kind="post", ids=[post_id])
        post_borrowed_part_removed(post_id=post_id, original_author_id=original_author_id,
                                   kind=kind)
    return True
