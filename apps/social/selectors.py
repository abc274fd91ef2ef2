"""Reads of the social graph.

`get_*_for(viewer, ...)` are permission-checked: they raise NotFoundError when the viewer
may not know the account exists (unknown, not discoverable, blocked either way) and
ForbiddenError when the account is visible but the data is not (a private account's lists).

Each list is one query: the edge rows, the row user (select_related) and the viewer's
relation to that user (EXISTS subqueries), so a page costs the same whatever its size.

Other apps (content, comments, messaging, feed) ask here whether two people are blocked:
`is_blocked_between`, `blocked_user_ids`, `muted_user_ids`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.db.models.expressions import Combinable
from django.db.models.functions import Lower, Now

from apps.accounts.models import User
from apps.accounts.selectors import verified_email_exists
from apps.core.errors import ForbiddenError, NotFoundError
from apps.social.models import Block, Follow, FollowRequest, Membership, Mute

USER_NOT_FOUND = "User not found."

# The columns a profile or a list row shows; nothing else is read.
SUMMARY_FIELDS = ("id", "username", "display_name", "avatar_sizes", "is_private", "is_verified")
PROFILE_FIELDS = (*SUMMARY_FIELDS, "bio", "links", "followers_count", "following_count")


def discoverable_q(prefix: str = "", *, viewer_id: int | None = None) -> Q:
    """The SQL twin of `User.is_discoverable`: active, not deactivated, not pending deletion,
    with a verified e-mail address (an account that never proved one stays hidden from
    profiles, lists, suggestions and its posts until it does). Every read of another user
    goes through it. With `viewer_id`, the viewer's own account always qualifies (the owner
    sees their own profile while unverified)."""
    user_id = f"{prefix.removesuffix('__')}_id" if prefix else "pk"
    rule = Q(**{
        f"{prefix}is_active": True,
        f"{prefix}deactivated_at__isnull": True,
        f"{prefix}deletion_scheduled_for__isnull": True,
    }) & Q(verified_email_exists(user_id))
    if viewer_id is not None:
        rule |= Q(**{user_id: viewer_id})
    return rule


@dataclass(frozen=True)
class Relation:
    """How the viewer stands to another user. `muted` is the viewer's own mute: nobody is
    ever told that they were muted."""

    following: bool = False
    requested: bool = False
    follows_you: bool = False
    blocked_by_you: bool = False
    muted: bool = False
    is_self: bool = False
    # paid subscriptions (social.Membership, current): the viewer subscribes to this user /
    # this user subscribes to the viewer (the subscriber badge a creator sees)
    subscribed: bool = False
    subscribes_to_you: bool = False


@dataclass(frozen=True)
class UserRow:
    user: User
    relation: Relation


# --- small questions other apps ask -----------------------------------------------------------


def is_blocked_between(a_id: int, b_id: int) -> bool:
    """True when either user blocked the other."""
    return Block.objects.filter(
        Q(blocker_id=a_id, blocked_id=b_id) | Q(blocker_id=b_id, blocked_id=a_id)
    ).exists()


def blocked_user_ids(user_id: int) -> set[int]:
    """Everyone `user_id` blocked and everyone who blocked `user_id` (one query)."""
    mine = Block.objects.filter(blocker_id=user_id).values_list("blocked_id", flat=True)
    theirs = Block.objects.filter(blocked_id=user_id).values_list("blocker_id", flat=True)
    return set(mine.union(theirs))


def muted_user_ids(user_id: int) -> set[int]:
    """The people `user_id` muted (hide their content from `user_id`, silently)."""
    return set(Mute.objects.filter(muter_id=user_id).values_list("muted_id", flat=True))


def silenced_pairs(pairs: Iterable[tuple[int, int]]) -> set[tuple[int, int]]:
    """The (viewer, other) pairs among `pairs` where either blocked the other or the viewer
    muted the other: nothing the other does is told to the viewer (notifications). Two
    queries however many pairs."""
    wanted = set(pairs)
    if not wanted:
        return set()
    viewers = {v for v, _ in wanted}
    others = {o for _, o in wanted}
    found: set[tuple[int, int]] = set()
    for blocker, blocked in Block.objects.filter(
            Q(blocker_id__any=viewers, blocked_id__any=others)
            | Q(blocker_id__any=others, blocked_id__any=viewers)).values_list(
                "blocker_id", "blocked_id"):
        found |= {(blocker, blocked), (blocked, blocker)}
    found |= set(Mute.objects.filter(muter_id__any=viewers, muted_id__any=others)
                 .values_list("muter_id", "muted_id"))
    return found & wanted


_SILENCED_FOR = (  # Block and Mute's tables
    "SELECT blocked_id FROM social_block WHERE blocker_id = %(v)s "
    "UNION SELECT blocker_id FROM social_block WHERE blocked_id = %(v)s "
    "UNION SELECT muted_id FROM social_mute WHERE muter_id = %(v)s")


def silenced_user_ids(viewer_id: int) -> list[int]:
    """Everyone silenced for the viewer (either blocked the other, or the viewer muted
    them): `silenced_pairs` for one viewer, in one statement, for reading what was stored
    before a block or mute (the inbox filters with these as an array,
    `field__any=ids`: three subqueries in its filter cost ~2 ms of ORM compilation a
    request, more than the statement). A fixed statement: nothing to compile."""
    with connection.cursor() as cursor:
        cursor.execute(_SILENCED_FOR, {"v": viewer_id})
        return [pk for (pk,) in cursor.fetchall()]


def silenced_between_q(viewer_field: str | OuterRef, user_field: str) -> Q:
    """`silenced_user_ids` for rows of many viewers at once: rows whose `user_field` is
    someone silenced for the viewer in `viewer_field` (a batch's unread counts; an
    `OuterRef` names the viewer of an enclosing query)."""
    viewer = OuterRef(viewer_field) if isinstance(viewer_field, str) else viewer_field
    other = OuterRef(user_field)
    return (Q(Exists(Block.objects.filter(blocker_id=viewer, blocked_id=other)))
            | Q(Exists(Block.objects.filter(blocker_id=other, blocked_id=viewer)))
            | Q(Exists(Mute.objects.filter(muter_id=viewer, muted_id=other))))


def is_following(follower_id: int, followee_id: int) -> bool:
    return Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).exists()


def can_view_account_content(*, viewer_id: int | None, owner: User) -> bool:
    """Whether the viewer may see what a private/public account shares with followers."""
    if viewer_id is not None and viewer_id == owner.pk:
        return True
    if not owner.is_discoverable:
        return False
    if viewer_id is not None and is_blocked_between(viewer_id, owner.pk):
        return False
    if not owner.is_private:
        return True
    return viewer_id is not None and is_following(viewer_id, owner.pk)


# --- building blocks ----------------------------------------------------------------------------


def _viewer_id(viewer: User | None) -> int | None:
    return viewer.pk if viewer is not None else None


# Anything a username could ever be (Django's validator, 150 chars); other input never
# reaches the database (a NUL byte would be a DataError there, i.e. a 500).
_USERNAME_SHAPE = re.compile(r"[\w.@+-]{1,150}")


def users_by_username(username: str) -> QuerySet[User]:
    """Case-insensitive, through the unique index on LOWER(username)."""
    if not _USERNAME_SHAPE.fullmatch(username):
        return User.objects.none()
    return User.objects.alias(username_lower=Lower("username")).filter(
        username_lower=username.lower()
    )


def blocked_either_way(viewer_id: int, user_ref: str = "pk") -> Exists:
    """EXISTS a block between the viewer and the user at `user_ref`, either way (the one
    block rule; search's findable accounts use it too)."""
    ref = OuterRef(user_ref)
    return Exists(Block.objects.filter(
        Q(blocker_id=viewer_id, blocked_id=ref) | Q(blocker_id=ref, blocked_id=viewer_id)
    ))


def current_membership(*, member: Any, creator: Any) -> Exists:
    """EXISTS a membership of `member` to `creator` (ids or OuterRefs) that has not lapsed:
    the one test behind subscriber-only posts (content's visibility rule) and the subscriber
    badges (profiles, comments)."""
    return Exists(Membership.objects.filter(member_id=member, creator_id=creator,
                                            until__gt=Now()))


def _relation_annotations(viewer_id: int | None, user_ref: str) -> dict[str, Any]:
    if viewer_id is None:
        return {}
    ref = OuterRef(user_ref)
    return {
        "rel_following": Exists(Follow.objects.filter(follower_id=viewer_id, followee_id=ref)),
        "rel_requested": Exists(
            FollowRequest.objects.filter(requester_id=viewer_id, target_id=ref)
        ),
        "rel_follows_you": Exists(Follow.objects.filter(follower_id=ref, followee_id=viewer_id)),
        "rel_blocked_by_you": Exists(Block.objects.filter(blocker_id=viewer_id, blocked_id=ref)),
        "rel_muted": Exists(Mute.objects.filter(muter_id=viewer_id, muted_id=ref)),
        "rel_subscribed": current_membership(member=viewer_id, creator=ref),
        "rel_subscribes_to_you": current_membership(member=ref, creator=viewer_id),
    }


def _relation_of(annotated: object, *, viewer_id: int | None, user_id: int) -> Relation:
    if viewer_id is None:
        return Relation()
    return Relation(
        following=bool(getattr(annotated, "rel_following", False)),
        requested=bool(getattr(annotated, "rel_requested", False)),
        follows_you=bool(getattr(annotated, "rel_follows_you", False)),
        blocked_by_you=bool(getattr(annotated, "rel_blocked_by_you", False)),
        muted=bool(getattr(annotated, "rel_muted", False)),
        is_self=viewer_id == user_id,
        subscribed=bool(getattr(annotated, "rel_subscribed", False)),
        subscribes_to_you=bool(getattr(annotated, "rel_subscribes_to_you", False)),
    )


def _visible_to(viewer_id: int | None, user_ref: str) -> Q | Combinable:
    """Rows whose user is not blocked either way with the viewer (the viewer sees themself)."""
    if viewer_id is None:
        return Q()
    return Q(**{user_ref: viewer_id}) | ~blocked_either_way(viewer_id, user_ref)


# --- profiles ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Profile:
    user: User
    relation: Relation


def get_profile_for(viewer: User | None, *, username: str) -> Profile:
    """Another user's public profile and the viewer's relation to them, in one query.

    404 when the account is unknown, not discoverable, or blocked either way; the owner
    always sees their own."""
    viewer_id = _viewer_id(viewer)
    user = (
        users_by_username(username)
        .filter(discoverable_q(viewer_id=viewer_id))
        .filter(_visible_to(viewer_id, "pk"))
        .annotate(**_relation_annotations(viewer_id, "pk"))
        .only(*PROFILE_FIELDS)
        .first()
    )
    if user is None:
        raise NotFoundError(USER_NOT_FOUND)
    return Profile(user=user, relation=_relation_of(user, viewer_id=viewer_id, user_id=user.pk))


def get_graph_target_for(viewer: User, *, username: str, reveal_blockers: bool = False) -> User:
    """The user a graph write (follow, mute, block, remove follower) is aimed at.

    Someone who blocked the viewer does not exist for the viewer (404) unless
    `reveal_blockers` (blocking back and unblocking must work whatever the other side did).
    Someone the viewer blocked is returned: the service then gives a clear refusal."""
    qs = users_by_username(username).filter(discoverable_q())
    if not reveal_blockers:
        qs = qs.filter(
            Q(pk=viewer.pk)
            | ~Exists(Block.objects.filter(blocker_id=OuterRef("pk"), blocked_id=viewer.pk))
        )
    user = qs.only("id", "username", "is_private").first()
    if user is None:
        raise NotFoundError(USER_NOT_FOUND)
    return user


# --- lists -------------------------------------------------------------------------------------


def _list_owner_for(viewer: User | None, *, username: str) -> User:
    viewer_id = _viewer_id(viewer)
    qs = (users_by_username(username).filter(discoverable_q(viewer_id=viewer_id))
          .filter(_visible_to(viewer_id, "pk")))
    if viewer_id is not None:
        qs = qs.annotate(
            viewer_follows=Exists(Follow.objects.filter(follower_id=viewer_id,
                                                        followee_id=OuterRef("pk")))
        )
    owner = qs.only("id", "is_private").first()
    if owner is None:
        raise NotFoundError(USER_NOT_FOUND)
    if owner.is_private and owner.pk != viewer_id and not getattr(owner, "viewer_follows", False):
        raise ForbiddenError(
            "This account is private: only its approved followers see its lists.",
            code="private_account",
        )
    return owner


def _rows_with_user(rows: QuerySet[Any], *, viewer_id: int | None, user_field: str,
                    relations: bool = True) -> QuerySet[Any]:
    ref = f"{user_field}_id"
    rows = (
        rows.filter(discoverable_q(f"{user_field}__"))
        .filter(_visible_to(viewer_id, ref))
        .select_related(user_field)
        .only("id", "created_at", ref, *(f"{user_field}__{f}" for f in SUMMARY_FIELDS))
    )
    if relations:
        rows = rows.annotate(**_relation_annotations(viewer_id, ref))
    return rows


def get_followers_for(viewer: User | None, *, username: str) -> QuerySet[Follow]:
    """Follow rows whose `follower` is the row user, newest first when ordered by -id."""
    owner = _list_owner_for(viewer, username=username)
    return _rows_with_user(Follow.objects.filter(followee_id=owner.pk),
                           viewer_id=_viewer_id(viewer), user_field="follower")


def get_following_for(viewer: User | None, *, username: str) -> QuerySet[Follow]:
    """Follow rows whose `followee` is the row user."""
    owner = _list_owner_for(viewer, username=username)
    return _rows_with_user(Follow.objects.filter(follower_id=owner.pk),
                           viewer_id=_viewer_id(viewer), user_field="followee")


def get_friends_for(viewer: User | None, *, username: str) -> QuerySet[Follow]:
    """Mutual follows: the owner's Follow rows whose followee follows the owner back."""
    owner = _list_owner_for(viewer, username=username)
    back = Follow.objects.filter(follower_id=OuterRef("followee_id"), followee_id=owner.pk)
    return _rows_with_user(Follow.objects.filter(follower_id=owner.pk).filter(Exists(back)),
                           viewer_id=_viewer_id(viewer), user_field="followee")


def get_follow_requests_for(viewer: User) -> QuerySet[FollowRequest]:
    """Pending requests to follow the viewer; the row user is `requester`."""
    return _rows_with_user(FollowRequest.objects.filter(target_id=viewer.pk),
                           viewer_id=viewer.pk, user_field="requester")


def get_blocks_for(viewer: User) -> QuerySet[Block]:
    """The viewer's blocks; the row user is `blocked`."""
    return (
        Block.objects.filter(blocker_id=viewer.pk)
        .filter(discoverable_q("blocked__"))
        .select_related("blocked")
        .only("id", "created_at", "blocked_id", *(f"blocked__{f}" for f in SUMMARY_FIELDS))
    )


def get_mutes_for(viewer: User) -> QuerySet[Mute]:
    """The viewer's mutes; the row user is `muted`. Blocked-either-way users are left out."""
    return _rows_with_user(Mute.objects.filter(muter_id=viewer.pk), viewer_id=viewer.pk,
                           user_field="muted", relations=False)


def user_rows(rows: Iterable[Any], *, viewer: User | None, user_field: str) -> list[UserRow]:
    """Turn a page of annotated edge rows into (user, relation) pairs."""
    viewer_id = _viewer_id(viewer)
    out = []
    for row in rows:
        user = getattr(row, user_field)
        out.append(UserRow(user=user,
                           relation=_relation_of(row, viewer_id=viewer_id, user_id=user.pk)))
    return out
