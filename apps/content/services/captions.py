"""Captions: the hashtags and mentions a post's caption names, applied to the post."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, OuterRef, Q
from django.db.models.functions import Lower

from apps.accounts.models import User
from apps.content.captions import (
    MAX_HASHTAGS,
    MAX_MENTIONS,
    Token,
    hashtag_names,
    mention_names,
    parse_caption,
)
from apps.content.hooks import content_changed
from apps.content.models import CAPTION_MAX_LENGTH, Hashtag, Mention, Post, PostHashtag
from apps.core.errors import ApplicationError
from apps.core.ids import allocate_ids
from apps.social.models import Block
from apps.social.selectors import discoverable_q


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
        content_changed(kind="hashtag", ids=ids)  # those another transaction made: harmless
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


def _apply_caption(post: Post, caption: _Caption, *,
                   author: User) -> tuple[set[int], set[int], list[int]]:
    """Set the caption, its entities, PostHashtag and Mention rows on a saved post.
    Returns (hashtag ids added, hashtag ids removed, user ids newly mentioned)."""
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
    return added, removed, new_users
