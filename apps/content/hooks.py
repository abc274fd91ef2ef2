"""Hooks that higher apps (moderation) register with content. Content never imports them.

A publish gate answers "must this post wait for review before it goes live?" at the
moment content would publish it. A held post goes to `reviewing`; the gate's owner later
calls `services.post_release_from_review` (or takes it down with `post_remove`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Literal, Protocol

from apps.core.hooks import Hook


class PublishGate(Protocol):
    def __call__(self, *, post_id: int, asset_id: int) -> bool: ...


_publish_gates: Hook[PublishGate] = Hook("content.publish_gate")
register_publish_gate = _publish_gates.register


def publish_held(*, post_id: int, asset_id: int) -> bool:
    """True when any registered gate holds the post for review."""
    return any(gate(post_id=post_id, asset_id=asset_id) for gate in _publish_gates)


class ContentChangedHook(Protocol):
    def __call__(self, *, kind: str, ids: Collection[int]) -> object: ...


# Runs inside the writing transaction whenever a post, sound or hashtag changed in a way a
# reader of its public face may care about (published, caption/hashtags/sound edited,
# visibility, removal and reinstatement, deletion, age restriction; a sound created,
# edited, taken down; a hashtag created or counted): `search` records the ids in its
# index outbox, so a rolled-back change leaves nothing behind.
_changed_hooks: Hook[ContentChangedHook] = Hook("content.changed")
register_content_changed_hook = _changed_hooks.register


def content_changed(*, kind: Literal["post", "sound", "hashtag"], ids: Iterable[int]) -> None:
    ids = [int(pk) for pk in ids]
    if not ids:
        return
    for hook in _changed_hooks:
        hook(kind=kind, ids=ids)


class SoundInAssetHook(Protocol):
    def __call__(self, *, asset_id: int, sound_id: int) -> bool: ...


# "Is this sound already mixed into this upload's audio?" (the studio: a render whose edit
# document carries the sound). A post crediting such a sound as its sound is then rendered
# as it is (`selectors.asset_media_recipe` leaves the sound out): the post links to the
# sound ("use this sound" leads to it) without the sound being mixed in twice.
_sound_in_asset_hooks: Hook[SoundInAssetHook] = Hook("content.sound_in_asset")
register_sound_in_asset_hook = _sound_in_asset_hooks.register


def sound_in_asset(*, asset_id: int, sound_id: int) -> bool:
    return any(hook(asset_id=asset_id, sound_id=sound_id) for hook in _sound_in_asset_hooks)


class PostPublishedHook(Protocol):
    def __call__(self, *, post_id: int) -> object: ...


# Runs inside the transaction that published a post (exactly once per post: the publish is
# a compare-and-set): `notifications` tells the people its caption mentions, the owner of
# its sound, and the followers who asked to hear of the author's new posts.
_published_hooks: Hook[PostPublishedHook] = Hook("content.post_published")
register_post_published_hook = _published_hooks.register


def post_published(*, post_id: int) -> None:
    for hook in _published_hooks:
        hook(post_id=post_id)


class PostMentionsAddedHook(Protocol):
    def __call__(self, *, post_id: int, user_ids: list[int]) -> object: ...


# Runs inside the transaction in which the author edited a published post's caption to
# mention people it did not mention before (the publish told the ones mentioned then):
# `notifications` tells them.
_mentions_added_hooks: Hook[PostMentionsAddedHook] = Hook("content.post_mentions_added")
register_post_mentions_added_hook = _mentions_added_hooks.register


def post_mentions_added(*, post_id: int, user_ids: list[int]) -> None:
    for hook in _mentions_added_hooks:
        hook(post_id=post_id, user_ids=user_ids)


class PostUploadProblemHook(Protocol):
    def __call__(self, *, post_id: int, asset_id: int, taken_down: bool,
                 problem: str) -> object: ...


# Runs inside the transaction that sent a post back to draft because its upload failed or
# was refused (`taken_down`: a published post whose file media refused later, now
# removed), with the reason shown on the post: `notifications` tells the creator (inbox,
# push, e-mail at once). Not run when the creator cancelled the upload themselves.
_upload_problem_hooks: Hook[PostUploadProblemHook] = Hook("content.post_upload_problem")
register_post_upload_problem_hook = _upload_problem_hooks.register


def post_upload_problem(*, post_id: int, asset_id: int, taken_down: bool, problem: str) -> None:
    for hook in _upload_problem_hooks:
        hook(post_id=post_id, asset_id=asset_id, taken_down=taken_down, problem=problem)


class PostBorrowedPartRemovedHook(Protocol):
    def __call__(self, *, post_id: int, original_author_id: int | None, kind: str) -> object: ...


# Runs inside the transaction in which a duet or stitch stopped crediting its original
# because the original left public view (removed, deleted, made private or not allowed):
# the studio is re-rendering it without the borrowed part. `notifications` tells its
# creator in words.
_borrowed_removed_hooks: Hook[PostBorrowedPartRemovedHook] = Hook(
    "content.post_borrowed_part_removed")
register_post_borrowed_part_removed_hook = _borrowed_removed_hooks.register


def post_borrowed_part_removed(*, post_id: int, original_author_id: int | None,
                               kind: str) -> None:
    for hook in _borrowed_removed_hooks:
        hook(post_id=post_id, original_author_id=original_author_id, kind=kind)
