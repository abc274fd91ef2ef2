"""Hooks that higher apps (notifications) register with social. Social never imports them.

Each runs inside the writing transaction (a rolled-back follow announces nothing), once
per edge this transaction made:
- `register_followed_hook`: a Follow was created (a public account followed, or a request
  approved: `via_request`);
- `register_follow_requested_hook`: a FollowRequest to a private account was created;
- `register_blocked_hook`: a Block was created (messaging drops the pair's live
  conversations at once).

And one question: `register_live_ring_hook` (live answers which of some users are on air
in a live the viewer may watch: the ring on their avatars; `live_rings` asks it)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Protocol

from apps.core.hooks import Hook


class FollowedHook(Protocol):
    def __call__(self, *, follower_id: int, followee_id: int, via_request: bool) -> object: ...


class FollowRequestedHook(Protocol):
    def __call__(self, *, request_id: int, requester_id: int, target_id: int) -> object: ...


class BlockedHook(Protocol):
    def __call__(self, *, blocker_id: int, blocked_id: int) -> object: ...


class LiveRingHook(Protocol):
    def __call__(self, *, viewer: object, user_ids: Collection[int]) -> Mapping[int, int]: ...


_followed_hooks: Hook[FollowedHook] = Hook("social.followed")
register_followed_hook = _followed_hooks.register
_requested_hooks: Hook[FollowRequestedHook] = Hook("social.follow_requested")
register_follow_requested_hook = _requested_hooks.register
_blocked_hooks: Hook[BlockedHook] = Hook("social.blocked")
register_blocked_hook = _blocked_hooks.register
# An unblock (same shape: `blocker_id` is the one who unblocked); run inside its transaction.
_unblocked_hooks: Hook[BlockedHook] = Hook("social.unblocked")
register_unblocked_hook = _unblocked_hooks.register


def run_followed_hooks(*, follower_id: int, followee_id: int, via_request: bool = False) -> None:
    for hook in _followed_hooks:
        hook(follower_id=follower_id, followee_id=followee_id, via_request=via_request)


def run_follow_requested_hooks(*, request_id: int, requester_id: int, target_id: int) -> None:
    for hook in _requested_hooks:
        hook(request_id=request_id, requester_id=requester_id, target_id=target_id)


def run_blocked_hooks(*, blocker_id: int, blocked_id: int) -> None:
    for hook in _blocked_hooks:
        hook(blocker_id=blocker_id, blocked_id=blocked_id)


def run_unblocked_hooks(*, blocker_id: int, blocked_id: int) -> None:
    for hook in _unblocked_hooks:
        hook(blocker_id=blocker_id, blocked_id=blocked_id)


_live_ring_hooks: Hook[LiveRingHook] = Hook("social.live_rings")
register_live_ring_hook = _live_ring_hooks.register


def live_rings(*, viewer: object, user_ids: Collection[int]) -> dict[int, int]:
    """user id -> the id of the live they are on air in, for those of `user_ids` whose
    live the viewer may watch (empty with nothing registered, or an empty list)."""
    ids = {int(user_id) for user_id in user_ids}
    rings: dict[int, int] = {}
    if ids:
        for hook in _live_ring_hooks:
            rings.update(hook(viewer=viewer, user_ids=ids))
    return rings
