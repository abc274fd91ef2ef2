"""What detection registers with media, content, comments and accounts (see apps.py)."""

from __future__ import annotations

from apps.moderation.detection import services


def asset_step_done(*, asset_id: int, step: str) -> None:
    services.on_asset_step_done(asset_id=asset_id, step=step)


def publish_gate(*, post_id: int, asset_id: int) -> bool:
    return services.publish_gate(post_id=post_id, asset_id=asset_id)


def comment_created(*, comment_id: int) -> None:
    from apps.moderation.detection import tasks

    tasks.scan_comment.delay(comment_id)


def profile_changed(*, user_id: int, fields: list[str]) -> None:
    from apps.moderation.detection import tasks

    scanned = [name for name in fields if name in services.PROFILE_FIELDS]
    if scanned:
        tasks.scan_profile.delay(user_id, scanned)
