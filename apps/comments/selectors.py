"""Comment reads.

Who sees a comment: the viewer must see its post (`apps.content.selectors.visible_to_q`);
its author must be discoverable and neither blocked either way with the viewer nor muted by
the viewer (their own comments always show); and the comment must be `visible`, or `held`
/ `hidden` with the viewer being its author or the post's creator. Replies of a comment the
viewer may not see are not shown either.

Lists are one query per page whatever its size (plus the post look-up and the viewer's
block and mute sets): rows come with their author and reply-to user (select_related) and
"liked by me" as an EXISTS.
"""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Q, QuerySet, Value
from django.db.models.fields import BooleanField

from apps.accounts.models import User
from apps.comments.models import Comment, CommenterBan, CommentFilter, CommentLike
from apps.comments.services import COMMENT_NOT_FOUND
from apps.content.models import Post
from apps.content.selectors import visible_to_q
from apps.core.errors import NotFoundError
from apps.core.ids import id_or_404
from apps.social.selectors import (
    SUMMARY_FIELDS,
    current_membership,
    discoverable_q,
    silenced_user_ids,
)

Status = Comment.Status

ROW_FIELDS = (
    "id", "post_id", "parent_id", "author_id", "reply_to_user_id", "text", "status",
    "is_pinned", "liked_by_creator", "likes_count", "replies_count", "rank", "created_at",
    *(f"author__{f}" for f in SUMMARY_FIELDS),
    "reply_to_user__id", "reply_to_user__username",
)


def parse_comment_id(raw: str | int) -> int:
    return id_or_404(raw, COMMENT_NOT_FOUND)


def _viewer_id(viewer: User | None) -> int | None:
    return viewer.pk if viewer is not None and viewer.is_authenticated else None


def _status_q(viewer_id: int | None, prefix: str = "") -> Q:
    shown = Q(**{f"{prefix}status": Status.VISIBLE})
    if viewer_id is None:
        return shown
    mine = Q(**{f"{prefix}author_id": viewer_id}) | Q(**{f"{prefix}post__author_id": viewer_id})
    return shown | (Q(**{f"{prefix}status__in": [Status.HELD, Status.HIDDEN]}) & mine)


def _author_q(viewer_id: int | None, hidden_ids: set[int], prefix: str = "") -> Q:
    q = discoverable_q(f"{prefix}author__")
    if viewer_id is not None and hidden_ids:
        q &= Q(**{f"{prefix}author_id": viewer_id}) | ~Q(**{f"{prefix}author_id__in": hidden_ids})
    return q


def _hidden_authors(viewer_id: int | None) -> set[int]:
    if viewer_id is None:
        return set()
    return set(silenced_user_ids(viewer_id))  # blocked either way, or muted: one statement


def _rows(qs: QuerySet[Comment], viewer_id: int | None) -> QuerySet[Comment]:
    liked = (Exists(CommentLike.objects.filter(user_id=viewer_id, comment_id=OuterRef("pk")))
             if viewer_id is not None else Value(False, output_field=BooleanField()))
    # the subscriber badge: the comment's author has a current paid subscription to the
    # post's creator (social.Membership)
    subscriber = current_membership(member=OuterRef("author_id"),
                                    creator=OuterRef("post__author_id"))
    return (qs.select_related("author", "reply_to_user").only(*ROW_FIELDS)
            .annotate(liked_by_me=liked, author_is_subscriber=subscriber))


def comments_for(viewer: User | None, *, post: Post) -> QuerySet[Comment]:
    """The top-level comments of a post the viewer may see (the caller got `post` from
    `get_post_for`). Unordered: the view orders for `top` or `new`."""
    viewer_id = _viewer_id(viewer)
    hidden = _hidden_authors(viewer_id)
    qs = Comment.objects.filter(post_id=post.pk, parent__isnull=True).filter(
        _status_q(viewer_id), _author_q(viewer_id, hidden))
    return _rows(qs, viewer_id)


def replies_for(viewer: User | None, *, comment: Comment) -> QuerySet[Comment]:
    """Replies of a top-level comment the viewer may see (from `get_comment_for`)."""
    viewer_id = _viewer_id(viewer)
    hidden = _hidden_authors(viewer_id)
    qs = Comment.objects.filter(parent_id=comment.pk).filter(
        _status_q(viewer_id), _author_q(viewer_id, hidden))
    return _rows(qs, viewer_id)


def get_comment_for(viewer: User | None, *, comment_id: int | str) -> Comment:
    """A comment the viewer may see, with its post (and the post's author); a reply also
    needs its top-level comment to be visible. NotFoundError otherwise. One query, plus the
    viewer's block and mute sets."""
    viewer_id = _viewer_id(viewer)
    hidden = _hidden_authors(viewer_id)
    pk = parse_comment_id(comment_id)
    parent_ok = Q(parent__isnull=True) | (
        _status_q(viewer_id, "parent__") & _author_q(viewer_id, hidden, "parent__"))
    comment = (
        Comment.objects.filter(pk=pk)
        .filter(visible_to_q(viewer, "post__"), _status_q(viewer_id),
                _author_q(viewer_id, hidden), parent_ok)
        .select_related("post", "post__author")
        .first()
    )
    if comment is None:
        raise NotFoundError(COMMENT_NOT_FOUND)
    return comment


def held_comments_for(creator: User) -> QuerySet[Comment]:
    """Comments on the creator's posts waiting for their review."""
    return _rows(Comment.objects.filter(post__author_id=creator.pk, status=Status.HELD),
                 creator.pk)


def comment_filters_for(creator: User) -> QuerySet[CommentFilter]:
    return CommentFilter.objects.filter(creator_id=creator.pk)


def commenter_bans_for(creator: User) -> QuerySet[CommenterBan]:
    return (CommenterBan.objects.filter(creator_id=creator.pk).select_related("user")
            .only("id", "created_at", "creator_id", "user_id",
                  *(f"user__{f}" for f in SUMMARY_FIELDS)))


def comment_row(viewer: User | None, *, comment_id: int) -> Comment:
    """One comment as a list row shows it (for the response to a write that just made it)."""
    return _rows(Comment.objects.filter(pk=comment_id), _viewer_id(viewer)).get()
