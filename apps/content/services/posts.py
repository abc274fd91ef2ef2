"""Posts: create, edit, delete, pin and unpin."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from apps.accounts.models import User
from apps.content.hooks import content_changed, post_mentions_added
from apps.content.models import Post, Sound
from apps.content.selectors import POST_NOT_FOUND, get_post_for
from apps.content.services._common import (
    _EDITABLE_SETTINGS,
    PIN_LIMIT,
    Publish,
    _target,
    asset_is_playable,
    media_playback_wanted,
)
from apps.content.services.captions import _apply_caption, _parse
from apps.content.services.counters import _count_published, _move_hashtag_counts, _publish
from apps.content.services.public_media import posts_public_media_changed
from apps.content.services.sounds import _rerender_assets, _sound_for_use
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.core.idempotency import create_once, key_reused
from apps.media.cdn import asset_public_urls_retired
from apps.media.models import MediaAsset


def _check_choice(name: str, value: str, choices: Iterable[str]) -> None:
    if value not in set(choices):
        raise ApplicationError(f"{name}: not a valid choice.",
                               fields={name: [f"\"{value}\" is not a valid choice."]})


def post_create(
    *,
    author: User,
    asset_id: int,
    caption: str = "",
    visibility: str = Post.Visibility.PUBLIC,
    comment_policy: str = Post.CommentPolicy.EVERYONE,
    allow_duet: bool = True,
    allow_stitch: bool = True,
    allow_download: bool = True,
    language: str = "",
    publish: Publish = "now",
    sound_id: int | None = None,
    sound_mix: str = Post.SoundMix.KEEP,
    cover_time_ms: int | None = None,
    idempotency_key: str | None = None,
) -> Post:
    """A post on the author's own upload, with an original sound made from that upload.

    `publish`: "now" (published at once, or `processing` until the media is playable),
    "draft", or a time to schedule it for. `idempotency_key` is stored with the post (see
    `post_create_once`)."""
    now = timezone.now()
    status, scheduled_for = _target(publish, now=now)
    parsed = _parse(caption)
    _check_choice("visibility", visibility, Post.Visibility.values)
    _check_choice("comment_policy", comment_policy, Post.CommentPolicy.values)
    _check_choice("sound_mix", sound_mix, Post.SoundMix.values)

    with transaction.atomic():
        # Locking the asset orders us with media's state change: either we see it playable,
        # or its playable hook runs after our commit and finds the post `processing`.
        asset = (MediaAsset.objects.select_for_update()
                 .filter(pk=asset_id, owner_id=author.pk).first())
        if asset is None:
            raise NotFoundError("Upload not found.", fields={"asset_id": ["Upload not found."]})
        problem = Post(asset=asset, status=Post.Status.DRAFT).upload_problem
        if problem is not None:
            raise ApplicationError(f"{problem} It cannot be posted.", code="asset_unusable",
                                   fields={"asset_id": [problem]})
        if Post.objects.filter(asset_id=asset.pk).exists():
            raise ConflictError("This upload is already posted.", code="asset_already_posted",
                                fields={"asset_id": ["Already posted."]})
        if cover_time_ms is not None and asset.duration_ms is not None \
                and cover_time_ms > asset.duration_ms:
            raise ApplicationError("The cover frame is past the end of the video.",
                                   fields={"cover_time_ms": ["Past the end of the video."]})
        chosen = _sound_for_use(user=author, sound_id=sound_id) if sound_id is not None else None

        original = Sound.objects.create(
            kind=Sound.Kind.ORIGINAL,
            title=f"original sound - {author.username}"[:200],
            original_owner=author,
            source_asset=asset,
            duration_ms=asset.duration_ms,
        )
        content_changed(kind="sound", ids=[original.pk])
        post = Post(
            author=author,
            asset=asset,
            visibility=visibility,
            comment_policy=comment_policy,
            allow_duet=allow_duet,
            allow_stitch=allow_stitch,
            allow_download=allow_download,
            language=language,
            status=Post.Status.PROCESSING if status == Post.Status.PUBLISHED else status,
            scheduled_for=scheduled_for,
            cover_time_ms=cover_time_ms,
            sound=chosen or original,
            original_sound=original,
            sound_mix=sound_mix if chosen is not None else Post.SoundMix.KEEP,
            idempotency_key=idempotency_key,
        )
        try:
            with transaction.atomic():
                post.save()
        except IntegrityError:
            raise ConflictError("This upload is already posted.", code="asset_already_posted",
                                fields={"asset_id": ["Already posted."]}) from None
        _apply_caption(post, parsed, author=author)
        post.save(update_fields=["caption", "caption_entities"])
        if status == Post.Status.PUBLISHED and asset_is_playable(asset):
            _publish(post, from_statuses=[Post.Status.PROCESSING], now=now)
        if chosen is not None or cover_time_ms is not None:
            # steps already done rendered the upload as it is: the chosen sound or cover
            # needs them again (steps still to run read the recipe themselves)
            _rerender_assets([asset.pk])
    return post


def _keyed(author: User, key: str, *, asset_id: int, caption: str) -> Post | None:
    """The author's post created with `key`, if the request is the same one again (a retry:
    the same upload and caption); `key_reused()` if the key made a different post."""
    done = Post.objects.filter(author_id=author.pk, idempotency_key=key).first()
    if done is None:
        return None
    if done.asset_id != asset_id or done.caption != caption:
        raise key_reused()
    return done


def post_create_once(*, author: User, asset_id: int, caption: str = "",
                     idempotency_key: str | None, **settings: Any) -> tuple[Post, bool]:
    """`post_create` for a request that may be a client's retry: with a key the author
    already used for the same post it returns that post and False instead of a 409 "already
    posted" (`apps.core.idempotency.create_once`). True when it created the post. A retry
    racing the first request waits on the upload's row lock and then finds the upload
    posted (ConflictError), or on the key's unique index (IntegrityError, answered as the
    same ConflictError): either way the first request's post is the answer."""
    return create_once(
        idempotency_key,
        find=lambda key: _keyed(author, key, asset_id=asset_id, caption=caption),
        create=lambda key: post_create(author=author, asset_id=asset_id, caption=caption,
                                       idempotency_key=key, **settings),
        raced=(ConflictError,))


_UNSET: Any = object()


def _own_post_locked(*, user: User, post_id: int) -> Post:
    """The user's own post, locked. Someone else's visible post is a 403, an invisible one
    a 404 (it does not exist for them)."""
    post = get_post_for(viewer=user, post_id=post_id)
    if post.author_id != user.pk:
        raise ForbiddenError("Only the author can change this post.")
    locked = Post.objects.select_for_update().filter(pk=post.pk).select_related("asset").first()
    if locked is None or locked.status == Post.Status.REMOVED:
        raise NotFoundError(POST_NOT_FOUND)
    return locked


def post_update(
    *,
    user: User,
    post_id: int,
    caption: str = _UNSET,
    publish: Publish = _UNSET,
    **settings: Any,
) -> Post:
    """The author edits the caption and settings, and moves a draft or scheduled post
    (publish now, back to draft, or a new time)."""
    unknown = set(settings) - set(_EDITABLE_SETTINGS)
    if unknown:
        raise ApplicationError(f"Not editable: {', '.join(sorted(unknown))}.")
    if "visibility" in settings:
        _check_choice("visibility", settings["visibility"], Post.Visibility.values)
    if "comment_policy" in settings:
        _check_choice("comment_policy", settings["comment_policy"], Post.CommentPolicy.values)
    parsed = _parse(caption) if caption is not _UNSET else None
    now = timezone.now()
    target = _target(publish, now=now) if publish is not _UNSET else None

    with transaction.atomic():
        post = _own_post_locked(user=user, post_id=post_id)
        cover = settings.get("cover_time_ms")
        if cover is not None and post.asset.duration_ms is not None \
                and cover > post.asset.duration_ms:
            raise ApplicationError("The cover frame is past the end of the video.",
                                   fields={"cover_time_ms": ["Past the end of the video."]})
        if "cover_time_ms" in settings and cover != post.cover_time_ms:
            _rerender_assets([post.asset_id])
        fields = ["updated_at"]
        visibility_changed = settings.get("visibility", post.visibility) != post.visibility
        for name, value in settings.items():
            setattr(post, name, value)
            fields.append(name)
        if parsed is not None:
            added, removed, mentioned = _apply_caption(post, parsed, author=user)
            fields += ["caption", "caption_entities"]
            if post.status == Post.Status.PUBLISHED:
                _move_hashtag_counts(added, +1)
                _move_hashtag_counts(removed, -1)
                if mentioned:  # the publish told the others; these are new
                    post_mentions_added(post_id=post.pk, user_ids=mentioned)

        publish_now = False
        if target is not None:
            status, scheduled_for = target
            problem = post.upload_problem
            if status != Post.Status.DRAFT and problem is not None:
                # it would wait in `processing` (or `scheduled`) for ever
                raise ApplicationError(f"{problem} This post cannot be published.",
                                       code="asset_unusable", fields={"publish": [problem]})
            if post.status == Post.Status.PUBLISHED:
                if status != Post.Status.PUBLISHED:
                    raise ConflictError("This post is already published.",
                                        code="already_published",
                                        fields={"publish": ["Already published."]})
            elif status == Post.Status.PUBLISHED:
                post.status, post.scheduled_for = Post.Status.PROCESSING, None
                fields += ["status", "scheduled_for"]
                publish_now = asset_is_playable(post.asset)
            else:
                post.status, post.scheduled_for = status, scheduled_for
                fields += ["status", "scheduled_for"]
            if post.status in (Post.Status.PROCESSING, Post.Status.SCHEDULED) and not publish_now:
                # planned for one decode as a draft or for later: media adds the lowest
                # rendition's own step if it now goes out before the ladder is done
                media_playback_wanted(post.asset_id)
        post.save(update_fields=fields)
        if visibility_changed:
            posts_public_media_changed(post_ids=[post.pk])
            post.refresh_from_db(fields=["public_version"])
        if publish_now:
            _publish(post, from_statuses=[Post.Status.PROCESSING], now=now)
        content_changed(kind="post", ids=[post.pk])
    return post


def post_delete(*, user: User, post_id: int) -> None:
    """The author deletes their post. Its original sound goes too unless other posts use it."""
    with transaction.atomic():
        post = _own_post_locked(user=user, post_id=post_id)
        if post.status == Post.Status.PUBLISHED:
            _count_published(post, -1)
        original_id = post.original_sound_id
        if post.published_at is not None:
            asset_public_urls_retired(asset_id=post.asset_id, version=post.public_version)
        content_changed(kind="post", ids=[post.pk])
        post.delete()
        if original_id is not None:
            Sound.objects.filter(pk=original_id).exclude(
                Exists(Post.objects.filter(Q(sound_id=OuterRef("pk"))
                                           | Q(original_sound_id=OuterRef("pk"))))
            ).delete()
            content_changed(kind="sound", ids=[original_id])


def post_pin(*, user: User, post_id: int) -> Post:
    """Pin a published post to the profile (at most three). Idempotent."""
    with transaction.atomic():
        # One pinner per author at a time, so two requests cannot make a fourth pin.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk").first()
        post = _own_post_locked(user=user, post_id=post_id)
        if post.pinned_at is not None:
            return post
        if post.status != Post.Status.PUBLISHED:
            raise ApplicationError("Only published posts can be pinned.", code="not_published")
        pinned = Post.objects.filter(author_id=user.pk, pinned_at__isnull=False).count()
        if pinned >= PIN_LIMIT:
            raise ConflictError(f"At most {PIN_LIMIT} posts can be pinned.", code="pin_limit")
        post.pinned_at = timezone.now()
        post.save(update_fields=["pinned_at", "updated_at"])
    return post


def post_unpin(*, user: User, post_id: int) -> Post:
    with transaction.atomic():
        post = _own_post_locked(user=user, post_id=post_id)
        if post.pinned_at is not None:
            post.pinned_at = None
            post.save(update_fields=["pinned_at", "updated_at"])
    return post
