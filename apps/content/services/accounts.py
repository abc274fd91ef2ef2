"""A user's content purged when the account goes; counters recounted."""

from __future__ import annotations

from django.db.models import Count, F, OuterRef, Subquery
from django.db.models.functions import Coalesce

from apps.content.hooks import content_changed
from apps.content.models import Hashtag, Post, PostHashtag, Sound
from apps.content.services.counters import _count_published
from apps.media.cdn import asset_public_urls_retired


def content_purge_user(*, user_id: int) -> None:
    """Accounts' removal hook: delete the user's posts (fixing tag and sound counters) and
    their original sounds, inside the purge transaction. Posts must go before the user's
    uploads (Post.asset is PROTECT)."""
    for post in Post.objects.select_for_update().filter(author_id=user_id).order_by("pk"):
        if post.status == Post.Status.PUBLISHED:
            _count_published(post, -1)
        if post.published_at is not None:
            asset_public_urls_retired(asset_id=post.asset_id, version=post.public_version)
        content_changed(kind="post", ids=[post.pk])
        post.delete()
    sounds = Sound.objects.filter(original_owner_id=user_id)
    content_changed(kind="sound", ids=sounds.values_list("pk", flat=True))
    sounds.delete()


def content_recount() -> int:
    """Rebuild Hashtag.posts_count and Sound.posts_count from the rows (one UPDATE each,
    touching only the rows that drifted). Returns how many rows were corrected."""
    tag_counts = (PostHashtag.objects.filter(hashtag_id=OuterRef("pk"),
                                             post__status=Post.Status.PUBLISHED)
                  .values("hashtag_id").annotate(n=Count("*")).values("n"))
    sound_counts = (Post.objects.filter(sound_id=OuterRef("pk"), status=Post.Status.PUBLISHED)
                    .values("sound_id").annotate(n=Count("*")).values("n"))
    fixed = 0
    for model, counts in ((Hashtag, tag_counts), (Sound, sound_counts)):
        truth = Coalesce(Subquery(counts), 0)
        fixed += (model.objects.annotate(truth=truth).exclude(posts_count=F("truth"))  # type: ignore[attr-defined]
                  .update(posts_count=truth))
    return fixed
