"""Comment writes. Keyword-only, one transaction each.

Callers pass a post obtained from `apps.content.selectors.get_post_for(viewer=...)`, or a
comment from `apps.comments.selectors.get_comment_for` (the permission checks); services
re-read and lock the rows they change.

Counters (`Post.comments_count`: the post's comments in status `visible`;
`Comment.replies_count`: a top-level comment's visible replies; `Comment.likes_count`) move
with F() only, in the transaction that changes the rows, and only by what that transaction
changed: status changes are compare-and-set updates (`filter(status=old).update(...)`), so
two racing deletes or hides count once; likes count what `get_or_create` / `delete()` did.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Greatest, Lower
from django.utils import timezone

from apps.accounts.models import User
from apps.comments import hooks
from apps.comments.models import (
    MAX_COMMENT_LENGTH,
    Comment,
    CommenterBan,
    CommentFilter,
    CommentLike,
    CommentMention,
)
from apps.content.models import Post
from apps.core.errors import ApplicationError, ConflictError, ForbiddenError, NotFoundError
from apps.core.idempotency import key_reused
from apps.core.ids import SWIPEME_EPOCH_MS, allocate_ids
from apps.social.selectors import blocked_user_ids, discoverable_q, is_following

COMMENT_NOT_FOUND = "Comment not found."
MAX_MENTIONS = 10
MAX_FILTER_KEYWORDS = 200
MAX_KEYWORD_LENGTH = 50
CREATOR_LIKE_BONUS = 2.0
RANK_TIME_UNIT_S = 12 * 3600
MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.]{2,24})")
Status = Comment.Status


# --- ranking ---------------------------------------------------------------------------------


def rank_for(*, likes: int, liked_by_creator: bool, created_at: datetime) -> float:
    """log10(likes) + a bonus when the creator liked it + age in 12-hour units: ten times
    the likes outweigh being 12 hours newer; the creator's like is worth 100 times the likes.
    Fixed for a comment until its likes change, so cursor pages are stable."""
    age_units = (created_at.timestamp() * 1000 - SWIPEME_EPOCH_MS) / 1000 / RANK_TIME_UNIT_S
    bonus = CREATOR_LIKE_BONUS if liked_by_creator else 0.0
    return math.log10(max(likes, 1)) + bonus + age_units


# --- helpers -----------------------------------------------------------------------------------


def clean_text(text: str) -> str:
    text = text.strip()
    if "\x00" in text:
        raise ApplicationError("The comment contains a character that is not allowed.",
                               code="invalid", fields={"text": ["Invalid character."]})
    if not text:
        raise ApplicationError("A comment cannot be empty.", code="invalid",
                               fields={"text": ["This field may not be blank."]})
    if len(text) > MAX_COMMENT_LENGTH:
        raise ApplicationError(f"A comment is at most {MAX_COMMENT_LENGTH} characters.",
                               code="invalid", fields={"text": ["Too long."]})
    return text


def check_can_comment(*, user: User, post: Post) -> None:
    """The creator's controls: the post's comment policy and their commenter bans."""
    if post.status == Post.Status.REMOVED:
        # only its author still sees a removed post (marked removed); it takes no comments
        raise ApplicationError("This post was removed by our moderators.",
                               code="post_removed", status_code=409)
    if user.pk == post.author_id:
        return
    if post.status != Post.Status.PUBLISHED:
        raise ApplicationError("This post is not published yet.", code="post_not_published",
                               status_code=409)
    if post.comment_policy == Post.CommentPolicy.OFF:
        raise ForbiddenError("The creator turned comments off for this post.",
                             code="comments_off")
    if post.comment_policy == Post.CommentPolicy.FRIENDS and not (
        is_following(user.pk, post.author_id) and is_following(post.author_id, user.pk)
    ):
        raise ForbiddenError("Only the creator's friends can comment on this post.",
                             code="comments_friends_only")
    if CommenterBan.objects.filter(creator_id=post.author_id, user_id=user.pk).exists():
        raise ForbiddenError("The creator has restricted you from commenting on their posts.",
                             code="commenting_restricted")


def matches_filter(*, creator_id: int, text: str) -> bool:
    """Whether `text` contains one of the creator's keywords (case-insensitive)."""
    folded = text.casefold()
    keywords = CommentFilter.objects.filter(creator_id=creator_id).values_list("keyword",
                                                                              flat=True)
    return any(keyword.casefold() in folded for keyword in keywords)


def _lock_comment(comment_id: int) -> Comment:
    comment = (Comment.objects.select_for_update(of=("self",))
               .select_related("post").filter(pk=comment_id).first())
    if comment is None:
        raise NotFoundError(COMMENT_NOT_FOUND)
    return comment


def _count_visible(comment: Comment, delta: int) -> None:
    """A comment entered (+1) or left (-1) the visible state: move the post's counter and,
    for a reply, its parent's."""
    Post.objects.filter(pk=comment.post_id).update(
        comments_count=Greatest(F("comments_count") + delta, 0))
    if comment.parent_id is not None:
        Comment.objects.filter(pk=comment.parent_id).update(
            replies_count=Greatest(F("replies_count") + delta, 0))


def _set_status(comment: Comment, *, old: Iterable[str], new: str, **extra: object) -> bool:
    """Compare-and-set the status; moves counters by what actually changed."""
    olds = list(old)
    changed = Comment.objects.filter(pk=comment.pk, status__in=olds).update(status=new, **extra)
    if not changed:
        return False
    was_visible = comment.status == Status.VISIBLE
    if was_visible and new != Status.VISIBLE:
        _count_visible(comment, -1)
    elif not was_visible and new == Status.VISIBLE:
        _count_visible(comment, +1)
    comment.status = new
    return True


def _record_mentions(comment: Comment, *, reply_to: User | None) -> None:
    names = list(dict.fromkeys(m.lower() for m in MENTION_RE.findall(comment.text)))
    names = names[:MAX_MENTIONS]
    if not names and reply_to is None:
        return
    hidden = blocked_user_ids(comment.author_id) | {comment.author_id}
    users = set(
        User.objects.alias(lower=Lower("username"))
        .filter(lower__in=names).filter(discoverable_q())
        .values_list("id", flat=True)
    ) if names else set()
    if reply_to is not None:
        users.add(reply_to.pk)
    users -= hidden
    if not users:
        return
    ids = allocate_ids(len(users))
    CommentMention.objects.bulk_create(
        [CommentMention(id=pk, comment_id=comment.pk, user_id=uid)
         for pk, uid in zip(ids, sorted(users), strict=True)],
        ignore_conflicts=True,
    )


# --- comments ----------------------------------------------------------------------------------


def comment_create(*, author: User, post: Post, text: str,
                   parent: Comment | None = None, idempotency_key: str | None = None) -> Comment:
    """Comment on `post`, or reply to `parent` (a comment on the same post that the author
    may see: the caller resolved it with `get_comment_for`). A reply to a reply becomes a
    reply to its top-level comment that starts with an @mention of whom it answers.
    Comments matching the creator's keyword filter are held for the creator's review."""
    text = clean_text(text)
    check_can_comment(user=author, post=post)
    with transaction.atomic():
        reply_to: User | None = None
        top: Comment | None = None
        if parent is not None:
            locked = _lock_comment(parent.pk)
            if locked.post_id != post.pk or locked.status != Status.VISIBLE:
                raise NotFoundError(COMMENT_NOT_FOUND)
            if locked.parent_id is not None:
                reply_to = User.objects.only("id", "username").get(pk=locked.author_id)
                mention = f"@{reply_to.username}"
                if not text.lower().startswith(mention.lower()):
                    text = clean_text(f"{mention} {text}")
                top = _lock_comment(locked.parent_id)
                if top.status != Status.VISIBLE:
                    raise NotFoundError(COMMENT_NOT_FOUND)
            else:
                top = locked
        held = author.pk != post.author_id and matches_filter(creator_id=post.author_id,
                                                               text=text)
        now = timezone.now()
        comment = Comment(
            post_id=post.pk, author_id=author.pk, parent=top, reply_to_user=reply_to,
            text=text, status=Status.HELD if held else Status.VISIBLE,
            created_at=now, rank=rank_for(likes=0, liked_by_creator=False, created_at=now),
            idempotency_key=idempotency_key,
        )
        comment.save(force_insert=True)
        if not held:
            _count_visible(comment, +1)
        _record_mentions(comment, reply_to=reply_to)
        transaction.on_commit(lambda: hooks.run_comment_created_hooks(comment_id=comment.pk))
    return comment


def _keyed(author: User, key: str, *, post: Post, text: str,
           parent: Comment | None) -> Comment | None:
    """The author's comment created with `key`, if the request is the same one again (a
    retry); `key_reused()` if the key created a different comment."""
    done = Comment.objects.filter(author_id=author.pk, idempotency_key=key).first()
    if done is None:
        return None
    cleaned = clean_text(text)
    top_id = None if parent is None else (parent.parent_id or parent.pk)
    # A reply to a reply was stored with an @mention put in front of the text.
    same_text = done.text == cleaned or (done.reply_to_user_id is not None
                                         and done.text.endswith(f" {cleaned}"))
    if done.post_id != post.pk or done.parent_id != top_id or not same_text:
        raise key_reused()
    return done


def comment_create_once(*, author: User, post: Post, text: str, parent: Comment | None,
                        idempotency_key: str | None) -> tuple[Comment, bool]:
    """`comment_create` for a request that may be a client's retry: with a key the author
    already used for the same comment it returns that comment and False instead of posting
    it again (the first answer may have been lost, e.g. a 503 during a PostgreSQL restart
    after the commit). True when it created the comment."""
    if idempotency_key is None:
        return comment_create(author=author, post=post, text=text, parent=parent), True
    done = _keyed(author, idempotency_key, post=post, text=text, parent=parent)
    if done is not None:
        return done, False
    try:
        return comment_create(author=author, post=post, text=text, parent=parent,
                              idempotency_key=idempotency_key), True
    except IntegrityError:
        # The same key in flight twice: the unique index made this insert wait for the
        # other one, which committed first.
        done = _keyed(author, idempotency_key, post=post, text=text, parent=parent)
        if done is None:
            raise
        return done, False


def comment_delete(*, actor: User, comment: Comment) -> None:
    """Delete a comment (its author or the post's creator). Deleting a top-level comment
    deletes its replies. Idempotent."""
    if actor.pk not in (comment.author_id, comment.post.author_id):
        raise ForbiddenError("Only the comment's author or the post's creator can delete it.",
                             code="not_comment_owner")
    with transaction.atomic():
        locked = _lock_comment(comment.pk)
        live = (Status.VISIBLE, Status.HELD, Status.HIDDEN)
        _set_status(locked, old=live, new=Status.DELETED, is_pinned=False)
        if locked.parent_id is None:
            gone = Comment.objects.filter(parent_id=locked.pk, status=Status.VISIBLE).update(
                status=Status.DELETED)
            Comment.objects.filter(parent_id=locked.pk, status__in=live).update(
                status=Status.DELETED)
            if gone:
                Post.objects.filter(pk=locked.post_id).update(
                    comments_count=Greatest(F("comments_count") - gone, 0))
                Comment.objects.filter(pk=locked.pk).update(replies_count=0)


def comment_remove(*, comment_id: int) -> str | None:
    """For moderation's enforcement service: take a comment down for everyone (its replies
    stay). Returns the status it had, for `comment_restore`; None when already gone."""
    with transaction.atomic():
        locked = _lock_comment(comment_id)
        prior = locked.status
        live = (Status.VISIBLE, Status.HELD, Status.HIDDEN)
        if not _set_status(locked, old=live, new=Status.DELETED, is_pinned=False):
            return None
    return prior


def comment_restore(*, comment_id: int, status: str) -> bool:
    """For moderation: an appeal overturned a removal; the comment gets back the status
    `comment_remove` returned. Idempotent."""
    if status not in (Status.VISIBLE, Status.HELD, Status.HIDDEN):
        raise ApplicationError("A comment can only be restored to a live status.",
                               code="invalid_status")
    with transaction.atomic():
        return _set_status(_lock_comment(comment_id), old=[Status.DELETED], new=status)


def _creator_only(actor: User, comment: Comment) -> None:
    if actor.pk != comment.post.author_id:
        raise ForbiddenError("Only the post's creator can do this.", code="not_post_creator")


def comment_hide(*, creator: User, comment: Comment) -> None:
    """Hide a comment from everyone but its author and the creator. Idempotent."""
    _creator_only(creator, comment)
    with transaction.atomic():
        _set_status(_lock_comment(comment.pk), old=[Status.VISIBLE], new=Status.HIDDEN,
                    is_pinned=False)


def comment_unhide(*, creator: User, comment: Comment) -> None:
    _creator_only(creator, comment)
    with transaction.atomic():
        _set_status(_lock_comment(comment.pk), old=[Status.HIDDEN], new=Status.VISIBLE)


def held_comment_approve(*, creator: User, comment: Comment) -> None:
    """Publish a comment the keyword filter held. Idempotent once approved."""
    _creator_only(creator, comment)
    with transaction.atomic():
        locked = _lock_comment(comment.pk)
        if locked.status == Status.VISIBLE:
            return
        if not _set_status(locked, old=[Status.HELD], new=Status.VISIBLE):
            raise ConflictError("This comment is not waiting for review.", code="not_held")


def held_comment_reject(*, creator: User, comment: Comment) -> None:
    _creator_only(creator, comment)
    with transaction.atomic():
        locked = _lock_comment(comment.pk)
        if locked.status == Status.REJECTED:
            return
        if not _set_status(locked, old=[Status.HELD], new=Status.REJECTED):
            raise ConflictError("This comment is not waiting for review.", code="not_held")


def comment_pin(*, creator: User, comment: Comment) -> None:
    """Pin a visible top-level comment; it replaces the post's pinned comment, if any."""
    _creator_only(creator, comment)
    with transaction.atomic():
        # The post row lock serialises pins on one post (the partial unique is the backstop).
        Post.objects.select_for_update().filter(pk=comment.post_id).only("id").first()
        locked = _lock_comment(comment.pk)
        if locked.parent_id is not None:
            raise ApplicationError("Only top-level comments can be pinned.",
                                   code="cannot_pin_reply")
        if locked.status != Status.VISIBLE:
            raise NotFoundError(COMMENT_NOT_FOUND)
        Comment.objects.filter(post_id=locked.post_id, is_pinned=True).exclude(
            pk=locked.pk).update(is_pinned=False)
        Comment.objects.filter(pk=locked.pk).update(is_pinned=True)


def comment_unpin(*, creator: User, comment: Comment) -> None:
    _creator_only(creator, comment)
    Comment.objects.filter(pk=comment.pk).update(is_pinned=False)


# --- comment likes ---------------------------------------------------------------------------


def comment_like_create(*, user: User, comment: Comment) -> bool:
    """Like a visible comment. Idempotent. The comment row is locked while its counter and
    rank move, so the rank always matches the count."""
    with transaction.atomic():
        locked = _lock_comment(comment.pk)
        if locked.status != Status.VISIBLE:
            raise NotFoundError(COMMENT_NOT_FOUND)
        _, created = CommentLike.objects.get_or_create(user_id=user.pk, comment_id=locked.pk)
        if created:
            by_creator = locked.liked_by_creator or user.pk == locked.post.author_id
            Comment.objects.filter(pk=locked.pk).update(
                likes_count=F("likes_count") + 1, liked_by_creator=by_creator,
                rank=rank_for(likes=locked.likes_count + 1, liked_by_creator=by_creator,
                              created_at=locked.created_at))
            hooks.run_comment_liked_hooks(user_id=user.pk, comment_id=locked.pk)
    return created


def comment_like_delete(*, user: User, comment_id: int) -> bool:
    """Remove the user's own like. Idempotent, and the same answer for any id (an unknown
    comment, or one the user may no longer see): it reveals nothing, touches only their row."""
    if not CommentLike.objects.filter(user_id=user.pk, comment_id=comment_id).exists():
        return False
    with transaction.atomic():
        locked = (Comment.objects.select_for_update(of=("self",))
                  .select_related("post").filter(pk=comment_id).first())
        if locked is None:
            return False
        deleted, _ = CommentLike.objects.filter(user_id=user.pk, comment_id=locked.pk).delete()
        if deleted:
            by_creator = locked.liked_by_creator and user.pk != locked.post.author_id
            likes = max(locked.likes_count - deleted, 0)
            Comment.objects.filter(pk=locked.pk).update(
                likes_count=Greatest(F("likes_count") - deleted, 0), liked_by_creator=by_creator,
                rank=rank_for(likes=likes, liked_by_creator=by_creator,
                              created_at=locked.created_at))
    return bool(deleted)


# --- creator controls -------------------------------------------------------------------------


def comment_filter_create(*, creator: User, keyword: str) -> CommentFilter:
    keyword = " ".join(keyword.split())
    if not keyword or "\x00" in keyword or len(keyword) > MAX_KEYWORD_LENGTH:
        raise ApplicationError("A keyword is 1 to 50 characters.", code="invalid",
                               fields={"keyword": ["A keyword is 1 to 50 characters."]})
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=creator.pk).only("id").first()
        if CommentFilter.objects.filter(creator_id=creator.pk).count() >= MAX_FILTER_KEYWORDS:
            raise ApplicationError(f"You can filter at most {MAX_FILTER_KEYWORDS} keywords.",
                                   code="too_many_keywords")
        existing = CommentFilter.objects.alias(lower=Lower("keyword")).filter(
            creator_id=creator.pk, lower=keyword.lower()).first()
        if existing is not None:
            return existing
        return CommentFilter.objects.create(creator_id=creator.pk, keyword=keyword)


def comment_filter_delete(*, creator: User, filter_id: int) -> None:
    deleted, _ = CommentFilter.objects.filter(pk=filter_id, creator_id=creator.pk).delete()
    if not deleted:
        raise NotFoundError("Keyword not found.")


def commenter_ban_create(*, creator: User, user: User) -> CommenterBan:
    """Remove `user` from commenting on `creator`'s posts. Idempotent."""
    if creator.pk == user.pk:
        raise ApplicationError("You cannot restrict yourself.", code="cannot_ban_self")
    try:
        with transaction.atomic():
            ban, _ = CommenterBan.objects.get_or_create(creator_id=creator.pk, user_id=user.pk)
    except IntegrityError:  # pragma: no cover - get_or_create already retries the get
        ban = CommenterBan.objects.get(creator_id=creator.pk, user_id=user.pk)
    return ban


def commenter_ban_delete(*, creator: User, user_id: int) -> None:
    CommenterBan.objects.filter(creator_id=creator.pk, user_id=user_id).delete()


# --- repair ------------------------------------------------------------------------------------


def comment_counters_reconcile(*, post_ids: Iterable[int] | None = None,
                               batch_size: int = 1000) -> int:
    """Recompute Post.comments_count, Comment.replies_count and Comment.likes_count from
    the rows; returns how many rows were corrected."""
    posts = Post.objects.order_by("pk")
    if post_ids is not None:
        posts = posts.filter(pk__in=list(post_ids))
    corrected = 0
    last = 0
    while True:
        chunk = list(posts.filter(pk__gt=last).values_list("pk", "comments_count")[:batch_size])
        if not chunk:
            return corrected
        last = chunk[-1][0]
        ids = [pk for pk, _ in chunk]
        visible = dict(Comment.objects.filter(post_id__in=ids, status=Status.VISIBLE)
                       .values("post_id").annotate(n=Count("id")).values_list("post_id", "n"))
        for pk, stored in chunk:
            if visible.get(pk, 0) != stored:
                Post.objects.filter(pk=pk).update(comments_count=visible.get(pk, 0))
                corrected += 1
        replies: dict[int, int] = defaultdict(int)
        for parent_id, n in (Comment.objects.filter(post_id__in=ids, status=Status.VISIBLE,
                                                    parent__isnull=False)
                             .values("parent_id").annotate(n=Count("id"))
                             .values_list("parent_id", "n")):
            replies[parent_id] = n
        likes = dict(CommentLike.objects.filter(comment__post_id__in=ids)
                     .values("comment_id").annotate(n=Count("id"))
                     .values_list("comment_id", "n"))
        for comment in Comment.objects.filter(post_id__in=ids).only(
                "id", "likes_count", "replies_count", "liked_by_creator", "created_at"):
            want_likes = likes.get(comment.pk, 0)
            want_replies = replies.get(comment.pk, 0)
            if (comment.likes_count, comment.replies_count) != (want_likes, want_replies):
                Comment.objects.filter(pk=comment.pk).update(
                    likes_count=want_likes, replies_count=want_replies,
                    rank=rank_for(likes=want_likes, liked_by_creator=comment.liked_by_creator,
                                  created_at=comment.created_at))
                corrected += 1




# --- account removal and export (accounts' hook registries) -----------------------------------


def comments_purge_user(*, user_id: int) -> None:
    """Before a user row is deleted: remove their comments (and the replies under their
    top-level comments), their comment likes, keyword filters and bans, fixing every
    counter those rows fed. Runs inside the purge transaction."""
    # Their likes on other people's comments.
    liked = list(CommentLike.objects.filter(user_id=user_id).values_list("comment_id", flat=True))
    CommentLike.objects.filter(user_id=user_id).delete()
    for comment in Comment.objects.select_for_update().filter(pk__in=liked).select_related(
            "post").only("id", "likes_count", "liked_by_creator", "created_at",
                         "post__author_id"):
        by_creator = comment.liked_by_creator and comment.post.author_id != user_id
        likes = max(comment.likes_count - 1, 0)
        Comment.objects.filter(pk=comment.pk).update(
            likes_count=Greatest(F("likes_count") - 1, 0), liked_by_creator=by_creator,
            rank=rank_for(likes=likes, liked_by_creator=by_creator,
                          created_at=comment.created_at))
    # Their comments, and everything threaded under their top-level comments.
    theirs = Comment.objects.filter(author_id=user_id)
    doomed = Comment.objects.filter(
        Q(author_id=user_id) | Q(parent__author_id=user_id, parent__parent__isnull=True))
    per_post: dict[int, int] = defaultdict(int)
    for post_id, n in (doomed.filter(status=Status.VISIBLE).values("post_id")
                       .annotate(n=Count("id")).values_list("post_id", "n")):
        per_post[post_id] += n
    for post_id, n in sorted(per_post.items()):
        Post.objects.filter(pk=post_id).update(comments_count=Greatest(F("comments_count") - n, 0))
    # Their visible replies under other people's comments.
    for parent_id, n in (theirs.filter(status=Status.VISIBLE, parent__isnull=False)
                         .exclude(parent__author_id=user_id).values("parent_id")
                         .annotate(n=Count("id")).values_list("parent_id", "n")):
        Comment.objects.filter(pk=parent_id).update(
            replies_count=Greatest(F("replies_count") - n, 0))
    Comment.objects.filter(pk__in=list(doomed.values_list("id", flat=True))).delete()
    CommentFilter.objects.filter(creator_id=user_id).delete()
    CommenterBan.objects.filter(Q(creator_id=user_id) | Q(user_id=user_id)).delete()


def comments_export_user(*, user_id: int) -> list[dict[str, str | None]]:
    """The user's comments for their data export."""
    return [
        {"id": str(pk), "post_id": str(post_id), "parent_id": str(parent) if parent else None,
         "text": text, "status": status, "at": at.isoformat()}
        for pk, post_id, parent, text, status, at in Comment.objects.filter(author_id=user_id)
        .order_by("id").values_list("id", "post_id", "parent_id", "text", "status", "created_at")
    ]
