"""Writes to the social graph. Every function is keyword-only and runs in one transaction.

Concurrency rules (the counters on accounts.User must always equal the Follow rows):
- A write that touches the edges between two people first locks both user rows with
  SELECT ... FOR UPDATE ordered by pk (`_lock_users`). That serialises every write about
  the same pair, makes "check for a block, then create the follow" safe, and (because
  every transaction takes its user locks in the same order, before any counter update)
  cannot deadlock on the counter updates that follow.
- Counters move with F() only, and only by what this transaction itself inserted or
  deleted: `get_or_create` says whether *we* created the row (the unique pair constraint
  is the backstop), `delete()` says how many rows *we* removed.
- Writes are idempotent: following twice, blocking twice, unfollowing a stranger are no-ops.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Greatest

from apps.accounts.hooks import account_changed
from apps.accounts.models import User
from apps.core.errors import ApplicationError, ForbiddenError, NotFoundError
from apps.core.ids import allocate_ids
from apps.social import hooks
from apps.social.models import Block, Follow, FollowRequest, Membership, Mute, UserEdge


class FollowState(enum.StrEnum):
    FOLLOWING = "following"
    REQUESTED = "requested"
    NONE = "none"


def _lock_users(*user_ids: int) -> dict[int, User]:
    """Lock the given users (ordered by pk, one query) and return their fresh rows."""
    users = User.objects.select_for_update().filter(pk__in=set(user_ids)).order_by("pk").only(
        "id", "is_private", "is_active", "deactivated_at", "deletion_scheduled_for"
    )
    return {user.pk: user for user in users}


def _follow_added(*, follower_id: int, followee_id: int) -> None:
    User.objects.filter(pk=followee_id).update(followers_count=F("followers_count") + 1)
    User.objects.filter(pk=follower_id).update(following_count=F("following_count") + 1)
    account_changed(user_ids=[followee_id])  # search ranks by followers


def _follow_removed(*, follower_id: int, followee_id: int) -> None:
    _decrement([followee_id], field="followers_count")
    _decrement([follower_id], field="following_count")


def _delete_follow(*, follower_id: int, followee_id: int) -> bool:
    deleted, _ = Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).delete()
    if deleted:
        _follow_removed(follower_id=follower_id, followee_id=followee_id)
    return bool(deleted)


def _create_follow(*, follower_id: int, followee_id: int) -> bool:
    _, created = Follow.objects.get_or_create(follower_id=follower_id, followee_id=followee_id)
    if created:
        _follow_added(follower_id=follower_id, followee_id=followee_id)
    return created


def _pair_locked(a_id: int, b_id: int, *, missing_message: str) -> tuple[User, User]:
    users = _lock_users(a_id, b_id)
    a, b = users.get(a_id), users.get(b_id)
    if a is None or b is None:
        raise NotFoundError(missing_message)
    return a, b


# --- follows --------------------------------------------------------------------------------


def follow_create(*, follower: User, followee: User) -> FollowState:
    """Follow `followee`: a Follow for a public account, a FollowRequest for a private one.

    Idempotent: asking again returns the state that already exists and counts nothing."""
    if follower.pk == followee.pk:
        raise ApplicationError("You cannot follow yourself.", code="cannot_follow_self")
    with transaction.atomic():
        actor, target = _pair_locked(follower.pk, followee.pk, missing_message="User not found.")
        if not target.is_discoverable:
            raise NotFoundError("User not found.")
        if not actor.is_discoverable:
            if actor.is_active and not actor.has_verified_email:
                raise ForbiddenError("Verify an e-mail address first: until then your account "
                                     "is hidden and cannot follow anyone.",
                                     code="email_unverified")
            raise ForbiddenError("Your account is not active.", code="account_inactive")
        if Block.objects.filter(blocker_id=actor.pk, blocked_id=target.pk).exists():
            raise ForbiddenError("You have blocked this account. Unblock it to follow it.",
                                 code="blocked")
        if Block.objects.filter(blocker_id=target.pk, blocked_id=actor.pk).exists():
            raise ForbiddenError("You cannot follow this account.", code="blocked")
        if Follow.objects.filter(follower_id=actor.pk, followee_id=target.pk).exists():
            return FollowState.FOLLOWING
        if target.is_private:
            request, created = FollowRequest.objects.get_or_create(requester_id=actor.pk,
                                                                   target_id=target.pk)
            if created:
                hooks.run_follow_requested_hooks(request_id=request.pk, requester_id=actor.pk,
                                                 target_id=target.pk)
            return FollowState.REQUESTED
        # A request left from when the account was private is superseded by the follow.
        FollowRequest.objects.filter(requester_id=actor.pk, target_id=target.pk).delete()
        if _create_follow(follower_id=actor.pk, followee_id=target.pk):
            hooks.run_followed_hooks(follower_id=actor.pk, followee_id=target.pk)
        return FollowState.FOLLOWING


def follow_delete(*, follower: User, followee: User) -> None:
    """Unfollow, or cancel a pending request. A no-op when neither exists."""
    with transaction.atomic():
        _lock_users(follower.pk, followee.pk)
        _delete_follow(follower_id=follower.pk, followee_id=followee.pk)
        FollowRequest.objects.filter(requester_id=follower.pk, target_id=followee.pk).delete()


def follower_remove(*, user: User, follower: User) -> None:
    """`user` removes `follower` from their followers (no block: they may follow again)."""
    with transaction.atomic():
        _lock_users(user.pk, follower.pk)
        _delete_follow(follower_id=follower.pk, followee_id=user.pk)


def follow_request_approve(*, target: User, request_id: int) -> Follow:
    """Approve a request made to `target`. Someone else's request id is a 404."""
    with transaction.atomic():
        request = FollowRequest.objects.filter(pk=request_id, target_id=target.pk).first()
        if request is None:
            raise NotFoundError("Follow request not found.")
        _pair_locked(request.requester_id, target.pk, missing_message="User not found.")
        # Re-read under the locks: a concurrent approve/deny/cancel may have won.
        deleted, _ = FollowRequest.objects.filter(pk=request_id, target_id=target.pk).delete()
        if not deleted:
            raise NotFoundError("Follow request not found.")
        if _create_follow(follower_id=request.requester_id, followee_id=target.pk):
            hooks.run_followed_hooks(follower_id=request.requester_id, followee_id=target.pk,
                                     via_request=True)
        return Follow.objects.get(follower_id=request.requester_id, followee_id=target.pk)


def follow_request_deny(*, target: User, request_id: int) -> None:
    """Deny (delete) a request made to `target`. Someone else's request id is a 404."""
    with transaction.atomic():
        deleted, _ = FollowRequest.objects.filter(pk=request_id, target_id=target.pk).delete()
    if not deleted:
        raise NotFoundError("Follow request not found.")


def follow_requests_accept_all(*, user_id: int) -> int:
    """Approve every pending request to `user_id` (the account went public). Returns how many
    new follows were made. Accounts calls it through its made-public hook."""
    with transaction.atomic():
        requester_ids = list(
            FollowRequest.objects.filter(target_id=user_id).values_list("requester_id", flat=True)
        )
        if not requester_ids:
            return 0
        locked = _lock_users(user_id, *requester_ids)
        if user_id not in locked:
            raise NotFoundError("User not found.")
        # Under the locks nobody else changes these pairs; re-read what is still pending.
        pending = set(
            FollowRequest.objects.filter(target_id=user_id, requester_id__in=requester_ids)
            .values_list("requester_id", flat=True)
        )
        FollowRequest.objects.filter(target_id=user_id, requester_id__in=pending).delete()
        already = set(
            Follow.objects.filter(followee_id=user_id, follower_id__in=pending)
            .values_list("follower_id", flat=True)
        )
        new = sorted(pending - already)
        if not new:
            return 0
        Follow.objects.bulk_create(
            Follow(id=pk, follower_id=follower_id, followee_id=user_id)
            for pk, follower_id in zip(allocate_ids(len(new)), new, strict=True)
        )
        User.objects.filter(pk=user_id).update(followers_count=F("followers_count") + len(new))
        account_changed(user_ids=[user_id])
        User.objects.filter(pk__in=new).update(following_count=F("following_count") + 1)
        return len(new)


# --- blocks and mutes -----------------------------------------------------------------------


E = TypeVar("E", Block, Mute)


def _refuse_self(source: User, target: User, *, verb: str) -> None:
    if source.pk == target.pk:
        raise ApplicationError(f"You cannot {verb} yourself.", code=f"cannot_{verb}_self")


def _edge_create(model: type[E], *, source: User, target: User) -> E:
    """The one-way edge from `source` to `target` (in the caller's transaction). Idempotent."""
    edge, _ = model.objects.get_or_create(**model.pair(source.pk, target.pk))
    return edge


def _edge_delete(model: type[E], *, source: User, target: User) -> None:
    with transaction.atomic():
        model.objects.filter(**model.pair(source.pk, target.pk)).delete()


def block_create(*, blocker: User, blocked: User) -> Block:
    """Block `blocked`: removes follows and follow requests both ways (counters fixed) in the
    same transaction. Idempotent."""
    _refuse_self(blocker, blocked, verb="block")
    with transaction.atomic():
        _pair_locked(blocker.pk, blocked.pk, missing_message="User not found.")
        block = _edge_create(Block, source=blocker, target=blocked)
        _delete_follow(follower_id=blocker.pk, followee_id=blocked.pk)
        _delete_follow(follower_id=blocked.pk, followee_id=blocker.pk)
        FollowRequest.objects.filter(
            Q(**FollowRequest.pair(blocker.pk, blocked.pk))
            | Q(**FollowRequest.pair(blocked.pk, blocker.pk))
        ).delete()
        hooks.run_blocked_hooks(blocker_id=blocker.pk, blocked_id=blocked.pk)
        return block


def block_delete(*, blocker: User, blocked: User) -> None:
    """Unblock. Follows removed by the block are not restored. Idempotent."""
    with transaction.atomic():
        removed, _ = Block.objects.filter(**Block.pair(blocker.pk, blocked.pk)).delete()
        if removed:
            hooks.run_unblocked_hooks(blocker_id=blocker.pk, blocked_id=blocked.pk)


def mute_create(*, muter: User, muted: User) -> Mute:
    """Mute `muted`: their content is hidden from `muter`; `muted` is never told. Idempotent."""
    _refuse_self(muter, muted, verb="mute")
    with transaction.atomic():
        return _edge_create(Mute, source=muter, target=muted)


def mute_delete(*, muter: User, muted: User) -> None:
    _edge_delete(Mute, source=muter, target=muted)


# --- account removal and repair ---------------------------------------------------------------


def _delete_returning(sql: str, user_id: int) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        return [row[0] for row in cursor.fetchall()]


def graph_purge_user(*, user_id: int) -> None:
    """Remove every edge of `user_id` (follows both ways, requests, blocks, mutes) and
    decrement the other side's counters by exactly the rows removed. Called before an
    account is deleted (a plain CASCADE would leave the other side's counters too high)."""
    with transaction.atomic():
        counterpart_ids = set(
            Follow.objects.filter(follower_id=user_id).values_list("followee_id", flat=True)
        ) | set(Follow.objects.filter(followee_id=user_id).values_list("follower_id", flat=True))
        _lock_users(user_id, *counterpart_ids)
        # DELETE ... RETURNING: only the rows this statement removed are counted.
        followee_ids = _delete_returning(
            "DELETE FROM social_follow WHERE follower_id = %s RETURNING followee_id", user_id
        )
        follower_ids = _delete_returning(
            "DELETE FROM social_follow WHERE followee_id = %s RETURNING follower_id", user_id
        )
        _decrement(followee_ids, field="followers_count")
        _decrement(follower_ids, field="following_count")
        User.objects.filter(pk=user_id).update(followers_count=0, following_count=0)
        for model in (FollowRequest, Block, Mute):
            model.objects.filter(model.touching(user_id)).delete()


def _decrement(user_ids: Iterable[int], *, field: str) -> None:
    """F() - 1, floored at 0: a counter that had already drifted (a user row deleted without
    the removal hook) must not make an unfollow fail; `social_recount` repairs the drift."""
    ids = sorted(user_ids)
    if ids:
        User.objects.filter(pk__in=ids).update(**{field: Greatest(F(field) - 1, 0)})
        if field == "followers_count":
            account_changed(user_ids=ids)  # search ranks by followers


def graph_counters_recount(*, user_ids: Iterable[int] | None = None,
                           batch_size: int = 1000) -> int:
    """Recompute followers_count/following_count from the Follow rows. Returns how many
    users were corrected. Works in pk-ordered batches; each batch locks its users so no
    follow write is in flight for them while their counts are taken."""
    fixed = 0
    last_pk = 0
    wanted = sorted(set(user_ids)) if user_ids is not None else None
    while True:
        qs = User.objects.order_by("pk")
        if wanted is not None:
            qs = qs.filter(pk__in=wanted)
        batch = list(qs.filter(pk__gt=last_pk).values_list("pk", flat=True)[:batch_size])
        if not batch:
            return fixed
        last_pk = batch[-1]
        with transaction.atomic():
            _lock_users(*batch)
            with connection.cursor() as cursor:
                cursor.execute(_RECOUNT_SQL, [batch])
                fixed += cursor.rowcount


_RECOUNT_SQL = """
UPDATE accounts_user AS u
SET followers_count = c.followers, following_count = c.following
FROM (
    SELECT ids.id,
           (SELECT count(*) FROM social_follow f WHERE f.followee_id = ids.id) AS followers,
           (SELECT count(*) FROM social_follow f WHERE f.follower_id = ids.id) AS following
    FROM unnest(%s::bigint[]) AS ids(id)
) AS c
WHERE u.id = c.id
  AND (u.followers_count <> c.followers OR u.following_count <> c.following)
"""


def graph_export_user(*, user_id: int) -> dict[str, list[dict[str, str]]]:
    """The user's own graph for their data export (accounts' export-section registry).
    Mutes and blocks they made are theirs to see; who muted or blocked them is not."""

    def rows(model: type[UserEdge], *, made: bool) -> list[dict[str, str]]:
        """Edges the user made (the other side is the target) or received (the source)."""
        mine, other = ((model.source_field, model.target_field) if made
                       else (model.target_field, model.source_field))
        qs: QuerySet[Any] = model.objects.filter(**{f"{mine}_id": user_id})  # type: ignore[attr-defined]
        return [
            {"username": username, "id": str(pk), "since": created.isoformat()}
            for pk, username, created in qs.order_by("id").values_list(
                f"{other}_id", f"{other}__username", "created_at"
            )
        ]

    return {
        "following": rows(Follow, made=True),
        "followers": rows(Follow, made=False),
        "follow_requests_sent": rows(FollowRequest, made=True),
        "follow_requests_received": rows(FollowRequest, made=False),
        "blocked": rows(Block, made=True),
        "muted": rows(Mute, made=True),
    }


# --- memberships (subscriber-only posts; written by monetization's subscriptions) ----------


def membership_grant(*, member_id: int, creator_id: int, until: datetime) -> None:
    """`member_id` sees `creator_id`'s subscriber-only posts until `until` (set, not
    extended: the caller owns the period arithmetic). Idempotent."""
    if member_id == creator_id:
        raise ApplicationError("You cannot be a member of your own account.",
                               code="cannot_member_self")
    with transaction.atomic():
        Membership.objects.update_or_create(member_id=member_id, creator_id=creator_id,
                                            defaults={"until": until})


def membership_end(*, member_id: int, creator_id: int) -> None:
    """Access to `creator_id`'s subscriber-only posts ends now. Idempotent."""
    with transaction.atomic():
        Membership.objects.filter(member_id=member_id, creator_id=creator_id).delete()
