"""What detection registers with media, content, comments and accounts (see apps.py)."""

from __future__ import annotations

from typing import Any

from apps.core.outbox import enqueue_on_commit
from apps.moderation.detection import services


def asset_step_done(*, asset_id: int, step: str) -> None:
    services.on_asset_step_done(asset_id=asset_id, step=step)


def publish_gate(*, post_id: int, asset_id: int) -> bool:
    return services.publish_gate(post_id=post_id, asset_id=asset_id)


def comment_created(*, comment_id: int) -> None:
    """Through the task outbox (apps.core.outbox): a comment posted while the broker is
    down is still scanned once it is back (no sweep looks for unscanned comments)."""
    from apps.moderation.detection import tasks

    enqueue_on_commit(tasks.scan_comment, comment_id)


def profile_changed(*, user_id: int, fields: list[str]) -> None:
    from apps.moderation.detection import tasks

    scanned = [name for name in fields if name in services.PROFILE_FIELDS]
    if scanned:
        enqueue_on_commit(tasks.scan_profile, user_id, scanned)


def case_decided(*, case_id: int, evidence: list[Any], upheld: bool) -> None:
    """A moderator's decision on an automated text flag becomes a training label."""
    from apps.moderation.detection.services import text_heads

    text_heads.label_from_decision(case_id=case_id, evidence=evidence, upheld=upheld)
