"""The creator's controls: keyword filters (what they match) and commenter bans."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower

from apps.accounts.models import User
from apps.comments.models import CommenterBan, CommentFilter
from apps.core.errors import ApplicationError, NotFoundError

MAX_FILTER_KEYWORDS = 200
MAX_KEYWORD_LENGTH = 50


def matches_filter(*, creator_id: int, text: str) -> bool:
    """Whether `text` contains one of the creator's keywords (case-insensitive)."""
    folded = text.casefold()
    keywords = CommentFilter.objects.filter(creator_id=creator_id).values_list("keyword",
                                                                              flat=True)
    return any(keyword.casefold() in folded for keyword in keywords)


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
