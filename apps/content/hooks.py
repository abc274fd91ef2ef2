"""Hooks that higher apps (moderation) register with content. Content never imports them.

A publish gate answers "must this post wait for review before it goes live?" at the
moment content would publish it. A held post goes to `reviewing`; the gate's owner later
calls `services.post_release_from_review` (or takes it down with `post_remove`).
"""

from __future__ import annotations

from typing import Protocol

from apps.core.hooks import Hook


class PublishGate(Protocol):
    def __call__(self, *, post_id: int, asset_id: int) -> bool: ...


_publish_gates: Hook[PublishGate] = Hook("content.publish_gate")
register_publish_gate = _publish_gates.register


def publish_held(*, post_id: int, asset_id: int) -> bool:
    """True when any registered gate holds the post for review."""
    return any(gate(post_id=post_id, asset_id=asset_id) for gate in _publish_gates)
