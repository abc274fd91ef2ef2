"""Every write of the content domain: posts (create, edit, delete, publish, schedule, pin),
their hashtags and mentions, and sounds.

Publishing always goes through `_publish` (compare-and-set on `status`), so a post is
published exactly once whoever gets there first: the create request, the media playable
hook, the beat task for scheduled posts, or its safety sweep. `Hashtag.posts_count` and
`Sound.posts_count` count published posts and move in the same transaction, with F(),
after locking the counter rows in primary-key order.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from django.conf import settings as django_settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from apps.accounts.models import User
from apps.content.captions import (
    MAX_HASHTAGS,
    MAX_MENTIONS,
    Token,
    hashtag_names,
    mention_names,
    parse_caption,
)
from apps.content.hooks import publish_held
from apps.content.models import CAPTION_MAX_LENGTH, Hashtag, Mention, Post, PostHashtag, Sound
from apps.content.selectors import (
    POST_NOT_FOUND,
    get_post_for,
    sound_use_refusal,
    visible_posts_for,
)
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.core.ids import allocate_ids
from apps.media.cdn import asset_public_urls_retired
from apps.media.models import MediaAsset
from apps.social.models import Block
from apps.social.selectors import discoverable_q, is_blocked_between

logger = logging.getLogger(__name__)

PIN_LIMIT = 3
SCHEDULE_MIN_LEAD = timedelta(minutes=5)
SCHEDULE_MAX_LEAD = timedelta(days=30)
PUBLISH_DUE_BATCH = 200

Publish = Literal["now", "draft"] | datetime

_UNUSABLE_ASSET_STATES = (MediaAsset.State.REJECTED, MediaAsset.State.FAILED)
_EDITABLE_SETTINGS = (
    "visibility", "comment_policy", "allow_duet", "allow_stitch", "allow_download",
    "language", "cover_time_ms",
)


def asset_is_playable(asset: MediaAsset) -> bool:
    """Whether a post on this asset may be published: media set `playable_at` when the
    lowest rendition was done (and then called its playable hook)."""
    return asset.playable_at is not None and asset.state not in _UNUSABLE_ASSET_STATES


# --- publishing targets ---------------------------------------------------------------------


def _target(publish: Publish, *, now: datetime) -> tuple[str, datetime | None]:
    """(status asked for, scheduled_for). `now` may still turn into `processing`."""
    if publish == "now":
        return Post.Status.PUBLISHED, None
    if publish == "draft":
        return Post.Status.DRAFT, None
    if not isinstance(publish, datetime) or timezone.is_naive(publish):
        raise ApplicationError(
            "publish: \"now\", \"draft\" or an ISO 8601 time with a UTC offset.",
            fields={"publish": ["Expected \"now\", \"draft\" or a time with a UTC offset."]},
        )
    if publish < now + SCHEDULE_MIN_LEAD:
        raise ApplicationError(
            "A post can be scheduled at least 5 minutes ahead.",
            code="schedule_too_soon",
            fields={"publish": ["Schedule at least 5 minutes ahead."]},
        )
    if publish > now + SCHEDULE_MAX_LEAD:
        raise ApplicationError(
            "A post can be scheduled at most 30 days ahead.",
            code="schedule_too_late",
            fields={"publish": ["Schedule at most 30 days ahead."]},
        )
    return Post.Status.SCHEDULED, publish


# --- captions: hashtags and mentions -----------------------------------------------------


@dataclass(frozen=True)
class _Caption:
    text: str
    tokens: list[Token]


def _parse(caption: str) -> _Caption:
    if len(caption) > CAPTION_MAX_LENGTH:
        raise ApplicationError(
            f"A caption is at most {CAPTION_MAX_LENGTH} characters.",
            fields={"caption": [f"At most {CAPTION_MAX_LENGTH} characters."]},
        )
    if "\x00" in caption:
        raise ApplicationError("A caption cannot hold NUL characters.",
                               fields={"caption": ["NUL characters are not allowed."]})
    tokens = parse_caption(caption)
    if len(hashtag_names(tokens)) > MAX_HASHTAGS:
        raise ApplicationError(f"At most {MAX_HASHTAGS} hashtags.",
                               fields={"caption": [f"At most {MAX_HASHTAGS} hashtags."]})
    if len(mention_names(tokens)) > MAX_MENTIONS:
        raise ApplicationError(f"At most {MAX_MENTIONS} mentions.",
                               fields={"caption": [f"At most {MAX_MENTIONS} mentions."]})
    return _Caption(caption, tokens)


def _hashtags_for(names: list[str]) -> dict[str, Hashtag]:
    """Hashtag rows for these names (lower-cased keys), creating the missing ones. Safe
    against a concurrent creator: the insert skips names another transaction made."""
    if not names:
        return {}
    lowered = [name.lower() for name in names]
    existing: dict[str, Hashtag] = {
        tag.name.lower(): tag
        for tag in Hashtag.objects.alias(lname=Lower("name")).filter(lname__in=lowered)}
    missing = [name for name in names if name.lower() not in existing]
    if missing:
        ids = allocate_ids(len(missing))
        Hashtag.objects.bulk_create(
            [Hashtag(id=pk, name=name) for pk, name in zip(ids, missing, strict=True)],
            ignore_conflicts=True,
        )
        existing = {tag.name.lower(): tag for tag in
                    Hashtag.objects.alias(lname=Lower("name")).filter(lname__in=lowered)}
    return existing


def _mentionable(author: User, names: list[str]) -> dict[str, User]:
    """Existing, discoverable users (lower-cased username keys) with no block either way
    with the author. The author's own @name links but records no Mention row."""
    if not names:
        return {}
    blocked = Exists(Block.objects.filter(
        Q(blocker_id=author.pk, blocked_id=OuterRef("pk"))
        | Q(blocker_id=OuterRef("pk"), blocked_id=author.pk)
    ))
    users = (
        User.objects.alias(lname=Lower("username"))
        .filter(lname__in=[name.lower() for name in names])
        .filter(discoverable_q())
        .exclude(blocked)
        .only("id", "username")
    )
    return {user.username.lower(): user for user in users}


def _entities(caption: _Caption, users: dict[str, User]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for token in caption.tokens:
        text = caption.text[token.start:token.end]
        if token.kind == "hashtag":
            out.append({"type": "hashtag", "start": token.start, "end": token.end,
                        "text": text, "name": token.value.lower()})
        else:
            user = users.get(token.value.lower())
            if user is None:
                continue
            out.append({"type": "mention", "start": token.start, "end": token.end,
                        "text": text, "user_id": str(user.pk), "username": user.username})
    return out


def _apply_caption(post: Post, caption: _Caption, *, author: User) -> tuple[set[int], set[int]]:
    """Set the caption, its entities, PostHashtag and Mention rows on a saved post.
    Returns (hashtag ids added, hashtag ids removed)."""
    tags = _hashtags_for(hashtag_names(caption.tokens))
    users = _mentionable(author, mention_names(caption.tokens))
    post.caption = caption.text
    post.caption_entities = _entities(caption, users)

    wanted_tags = {tag.pk for tag in tags.values()}
    current_tags = set(PostHashtag.objects.filter(post=post).values_list("hashtag_id", flat=True))
    added, removed = wanted_tags - current_tags, current_tags - wanted_tags
    if removed:
        PostHashtag.objects.filter(post=post, hashtag_id__in=removed).delete()
    if added:
        PostHashtag.objects.bulk_create(
            [PostHashtag(post=post, hashtag_id=pk) for pk in sorted(added)],
            ignore_conflicts=True,
        )

    wanted_users = {user.pk for user in users.values() if user.pk != author.pk}
    current_users = set(Mention.objects.filter(post=post).values_list("user_id", flat=True))
    if current_users - wanted_users:
        Mention.objects.filter(post=post, user_id__in=current_users - wanted_users).delete()
    new_users = sorted(wanted_users - current_users)
    if new_users:
        ids = allocate_ids(len(new_users))
        Mention.objects.bulk_create(
            [Mention(id=pk, post=post, user_id=uid) for pk, uid in zip(ids, new_users,
                                                                      strict=True)],
            ignore_conflicts=True,
        )
    return added, removed


# --- counters -------------------------------------------------------------------------------


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


def _move_sound_count(sound_id: int | None, delta: int) -> None:
    if sound_id is None:
        return
    rows = Sound.objects.filter(pk=sound_id)
    if delta < 0:
        rows = rows.filter(posts_count__gte=-delta)
    rows.update(posts_count=F("posts_count") + delta)


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
    return True


# --- sounds ---------------------------------------------------------------------------------


def _sound_for_use(*, user: User, sound_id: int) -> Sound:
    """A sound `user` may put on a new post, or a clear 4xx."""
    sound = Sound.objects.select_related("original_owner").filter(pk=sound_id).first()
    not_found = NotFoundError("Sound not found.", fields={"sound_id": ["Sound not found."]})
    if sound is None:
        raise not_found
    if sound.kind == Sound.Kind.ORIGINAL:
        owner = sound.original_owner
        assert owner is not None  # a check constraint holds it
        if owner.pk != user.pk:
            if not owner.is_discoverable or is_blocked_between(user.pk, owner.pk):
                raise not_found
            source_visible = visible_posts_for(viewer=user).filter(
                Q(original_sound=sound) | Q(sound=sound)
            ).exists()
            if not source_visible:
                raise not_found
    refusal = sound_use_refusal(sound, user=user)
    if refusal is not None:
        raise ApplicationError(refusal.message, code=refusal.code,
                               fields={"sound_id": [refusal.field_message]},
                               status_code=refusal.status_code)
    return sound


def sounds_sync_muted(*, now: datetime | None = None) -> tuple[int, int]:
    """Beat: stamp `muted_at` on sounds that stopped being usable (a licence that lapsed,
    a take-down) and clear it on sounds usable again (a renewed licence, a restore); the
    posts using them are rendered again by media (the recipe leaves an unusable sound out,
    so the track is gone from the video itself, not only flagged). The API mutes at once
    from `Sound.is_usable`; this makes it true in the files and visible to staff.
    Returns (newly muted, unmuted)."""
    moment = now or timezone.now()
    unusable = Q(is_taken_down=True) | Q(licence_expires_at__lte=moment)
    muted = list(Sound.objects.filter(unusable, muted_at__isnull=True)
                 .values_list("pk", flat=True))
    unmuted = list(Sound.objects.filter(~unusable, muted_at__isnull=False)
                   .values_list("pk", flat=True))
    if muted:
        Sound.objects.filter(pk__in=muted).update(muted_at=moment)
    if unmuted:
        Sound.objects.filter(pk__in=unmuted).update(muted_at=None)
    if muted or unmuted:
        _rerender_posts_with(muted + unmuted)
        logger.info("content.sounds_muted", extra={"muted": len(muted),
                                                   "unmuted": len(unmuted)})
    return len(muted), len(unmuted)


def _rerender_assets(asset_ids: list[int]) -> None:
    """Tell media (after commit) that what these uploads are rendered with changed (the
    sound, the mix, the cover); media renders again only the outputs that depend on it."""
    from apps.media.tasks import recipe_changed

    def send() -> None:
        for asset_id in asset_ids:
            recipe_changed.delay(asset_id)

    if asset_ids:
        transaction.on_commit(send)


def _rerender_posts_with(sound_ids: list[int]) -> None:
    """Render again every upload whose post uses these sounds as its chosen sound."""
    _rerender_assets(list(Post.objects.filter(sound_id__in=sound_ids)
                          .exclude(original_sound_id=F("sound_id"))
                          .exclude(status=Post.Status.REMOVED)
                          .values_list("asset_id", flat=True)))


def sounds_take_down(*, sound_ids: Iterable[int], taken_down: bool = True) -> int:
    """Staff take sounds down (muted wherever they play, unusable for new posts) or
    restore them. Returns how many changed."""
    ids = list(sound_ids)
    changed = Sound.objects.filter(pk__in=ids).exclude(is_taken_down=taken_down).update(
        is_taken_down=taken_down, updated_at=timezone.now())
    sounds_sync_muted()
    return changed


def sound_set_reuse(*, user: User, sound_id: int, allow_reuse: bool) -> Sound:
    """The owner of an original sound lets others use it (or stops them)."""
    updated = Sound.objects.filter(pk=sound_id, kind=Sound.Kind.ORIGINAL,
                                   original_owner_id=user.pk).update(allow_reuse=allow_reuse)
    if updated != 1:
        raise NotFoundError("Sound not found.")
    return Sound.objects.get(pk=sound_id)


# --- posts ----------------------------------------------------------------------------------


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
) -> Post:
    """A post on the author's own upload, with an original sound made from that upload.

    `publish`: "now" (published at once, or `processing` until the media is playable),
    "draft", or a time to schedule it for."""
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
            added, removed = _apply_caption(post, parsed, author=user)
            fields += ["caption", "caption_entities"]
            if post.status == Post.Status.PUBLISHED:
                _move_hashtag_counts(added, +1)
                _move_hashtag_counts(removed, -1)

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
        post.save(update_fields=fields)
        if visibility_changed:
            posts_public_media_changed(post_ids=[post.pk])
            post.refresh_from_db(fields=["public_version"])
        if publish_now:
            _publish(post, from_statuses=[Post.Status.PROCESSING], now=now)
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
        post.delete()
        if original_id is not None:
            Sound.objects.filter(pk=original_id).exclude(
                Exists(Post.objects.filter(Q(sound_id=OuterRef("pk"))
                                           | Q(original_sound_id=OuterRef("pk"))))
            ).delete()


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


def post_remove(*, post_id: int) -> bool:
    """For moderation's enforcement service: take a post down (it stays as evidence, seen
    by nobody, not even its author). Fixes tag and sound counts. Idempotent."""
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
    return True


def sound_set_taken_down(*, sound_id: int, taken_down: bool) -> bool:
    """For moderation: take a sound down (or put it back). True when it changed."""
    return bool(Sound.objects.filter(pk=sound_id).exclude(is_taken_down=taken_down)
                .update(is_taken_down=taken_down, updated_at=timezone.now()))


# --- publishing from media hooks and beat ---------------------------------------------------


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
    steps merely failed stays: it is playable. The creator is told why, by e-mail."""
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
        for post in Post.objects.filter(pk__in=waiting + taken_down).select_related(
                "author", "asset"):
            _email_upload_problem(post, taken_down=post.pk in taken_down)
    return held


def _email_upload_problem(post: Post, *, taken_down: bool) -> None:
    """Tells the creator (after commit) why a post will not go out: the post keeps the
    reason too (`Post.upload_problem`), shown on it in the app and on the web. E-mail
    for now, like moderation's notices; the notifications system will carry it later."""
    email = post.author.email
    asset = post.asset
    problem = post.upload_problem if not taken_down else (
        f"The video file was refused: {asset.state_reason}")
    if not email or problem is None or asset.state_reason == MediaAsset.CANCELLED_REASON:
        return  # nobody to tell, or the creator cancelled the upload themselves
    site = django_settings.SITE_URL.rstrip("/")
    link = f"{site}/@{post.author.username}/video/{post.pk}"
    if taken_down:
        title = "Your video was taken down"
        body = f"Your video was taken down after it was published.\n\n{problem}"
    else:
        title = "Your video could not be published"
        body = (f"Your video was not published; it is saved as a draft.\n\n{problem}\n\n"
                "Upload the video again (another file, if it was refused) to post it.")
    text = f"Hi {post.author.username},\n\n{body}\n\nThe post: {link}\n"
    transaction.on_commit(lambda: send_mail(f"SwipeMe: {title}", text, None, [email],
                                            fail_silently=True))


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


# --- public media URLs ------------------------------------------------------------------------


def posts_public_media_changed(*, post_ids: Iterable[int] | None = None,
                               author_id: int | None = None) -> int:
    """Who may watch these posts (or all of an author's) signed out may have changed: move
    each post's `public_version`, so its public media URLs change and the old ones answer
    404 at the origin, and have media purge the old ones from the CDN after the commit.
    Posts never published never had public URLs and are left alone. Returns how many
    moved."""
    rows = Post.objects.filter(published_at__isnull=False)
    if post_ids is not None:
        rows = rows.filter(pk__in=list(post_ids))
    if author_id is not None:
        rows = rows.filter(author_id=author_id)
    with transaction.atomic():
        retired = list(rows.select_for_update().order_by("pk")
                       .values_list("pk", "asset_id", "public_version"))
        Post.objects.filter(pk__in=[pk for pk, _, _ in retired]).update(
            public_version=F("public_version") + 1)
        for _, asset_id, version in retired:
            asset_public_urls_retired(asset_id=asset_id, version=version)
    return len(retired)


def account_privacy_changed(*, user_id: int, fields: list[str]) -> None:
    """Accounts' profile-changed hook (after the commit): an account that is private now
    retires its posts' public URLs. (Made public again, its posts serve under the version
    moved then; a public account re-saving its settings must not break the URLs players
    hold, so nothing moves.)"""
    if "is_private" in fields and User.objects.filter(pk=user_id, is_private=True).exists():
        posts_public_media_changed(author_id=user_id)


# --- accounts -------------------------------------------------------------------------------


def content_purge_user(*, user_id: int) -> None:
    """Accounts' removal hook: delete the user's posts (fixing tag and sound counters) and
    their original sounds, inside the purge transaction. Posts must go before the user's
    uploads (Post.asset is PROTECT)."""
    for post in Post.objects.select_for_update().filter(author_id=user_id).order_by("pk"):
        if post.status == Post.Status.PUBLISHED:
            _count_published(post, -1)
        if post.published_at is not None:
            asset_public_urls_retired(asset_id=post.asset_id, version=post.public_version)
        post.delete()
    Sound.objects.filter(original_owner_id=user_id).delete()


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
