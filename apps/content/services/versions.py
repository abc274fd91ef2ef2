"""A post's video replaced by a new version (the studio's edit of a post, rendered into a
new upload of the author): the post plays the new upload from then on; the old upload stays
(the post's original sound still credits its audio)."""

from __future__ import annotations

from django.db import transaction

from apps.content.hooks import content_changed, publish_held
from apps.content.models import Post
from apps.content.services._common import asset_is_playable
from apps.content.services.sounds import _rerender_assets
from apps.core.errors import ApplicationError, ConflictError, NotFoundError
from apps.media.cdn import asset_public_urls_retired
from apps.media.models import MediaAsset

# Not yet out and not on its way: the switch needs no checks (publishing runs them later).
_NOT_OUT = (Post.Status.DRAFT, Post.Status.SCHEDULED)


def post_switch_asset(*, post_id: int, author_id: int, asset_id: int,
                      cover_time_ms: int | None) -> Post:
    """Move the author's post onto `asset_id`, a playable upload of theirs no post uses.

    A published post passes the same publish gates as an upload first (moderation's
    checks, `hooks.publish_held`): held, the post keeps playing its old upload and the
    caller is told in words (ApplicationError `version_held`; the gates' own writes, such
    as a moderation case, roll back with it). A draft or scheduled post
    switches at once (its publish runs the gates). A post in processing or review, or
    removed, is refused. Under the post's and the new upload's row locks."""
    with transaction.atomic():
        post = (Post.objects.select_for_update().filter(pk=post_id, author_id=author_id)
                .first())
        if post is None or post.status == Post.Status.REMOVED:
            raise NotFoundError("The post was deleted or removed.")
        asset = (MediaAsset.objects.select_for_update()
                 .filter(pk=asset_id, owner_id=author_id).first())
        if asset is None or not asset_is_playable(asset):
            raise ApplicationError("The new version is not playable.", code="version_unusable")
        if post.asset_id == asset.pk:
            return post
        if Post.objects.filter(asset_id=asset.pk).exists():
            raise ConflictError("The new version is already another post's video.",
                                code="asset_already_posted")
        if post.status not in (Post.Status.PUBLISHED, *_NOT_OUT):
            raise ConflictError("The post is being published or reviewed; apply the edit "
                                "once it is out.", code="post_not_settled")
        if post.status == Post.Status.PUBLISHED and publish_held(post_id=post.pk,
                                                                 asset_id=asset.pk):
            raise ApplicationError("The new version did not pass our checks before "
                                   "publishing.", code="version_held")
        old_asset_id, old_version = post.asset_id, post.public_version
        post.asset = asset
        if cover_time_ms is not None and cover_time_ms <= (asset.duration_ms or 0):
            post.cover_time_ms = cover_time_ms
        elif post.cover_time_ms is not None and post.cover_time_ms > (asset.duration_ms or 0):
            post.cover_time_ms = None  # past the end of the new video
        post.save(update_fields=["asset", "cover_time_ms", "updated_at"])
        if post.published_at is not None:
            # the old upload is no post's video now: its public URLs answer 404; purge them
            asset_public_urls_retired(asset_id=old_asset_id, version=old_version)
        # the post's recipe (chosen sound, mix, cover) is now the new upload's: media
        # renders again the outputs that depend on it
        if post.cover_time_ms is not None or (post.sound_id is not None
                                              and post.sound_id != post.original_sound_id):
            _rerender_assets([asset.pk])
        content_changed(kind="post", ids=[post.pk])
    return post
