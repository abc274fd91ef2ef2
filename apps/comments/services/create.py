"""Creating a comment or a reply: the text, the creator's controls, the keyword filter's
hold, mentions, and the Idempotency-Key retry (`comment_create_once`)."""

from __future__ import annotations

import re

from django.db import transaction
from django.db.models.functions import Lower
from django.utils import timezone

from apps.accounts.models import User
from apps.comments import hooks
from apps.comments.models import MAX_COMMENT_LENGTH, Comment, CommenterBan, CommentMention
from apps.comments.services._common import (
    COMMENT_NOT_FOUND,
    Status,
    _count_visible,
    _lock_comment,
    rank_for,
)
from apps.comments.services.filters import matches_filter
from apps.content.models import Post
from apps.core.errors import ApplicationError, ForbiddenError, NotFoundError
from apps.core.idempotency import create_once, key_reused
from apps.core.ids import allocate_ids
from apps.social.selectors import blocked_user_ids, discoverable_q, is_following

MAX_MENTIONS = 10
MENTION_RE = re.compile(r"(?<![\w@.])@([A-Za-z0-9_.]{2,24})")


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
    it again (`apps.core.idempotency.create_once`). True when it created the comment."""
    return create_once(
        idempotency_key,
        find=lambda key: _keyed(author, key, post=post, text=text, parent=parent),
        create=lambda key: comment_create(author=author, post=post, text=text, parent=parent,
                                          idempotency_key=key))
