"""What moderation answers when lower apps call their hook registries (registered in
`ModerationConfig.ready`)."""

from __future__ import annotations

import logging
from typing import Any

from django.utils import timezone

from apps.accounts.models import User
from apps.content.audience import private_by_default
from apps.content.models import Post
from apps.moderation import services
from apps.moderation.models import BanSignal, Priority, Standing
from apps.moderation.policies import Policy

logger = logging.getLogger(__name__)


def account_created(*, user: Any) -> None:
    """accounts' sign-up hook: protected minors start private (content.audience's rule)."""
    if isinstance(user, User) and private_by_default(user):
        user.is_private = True


def access_gate(*, user_id: int | None, device_identifier: str, ip: str | None) -> str | None:
    """accounts' access gate. A device a banned account used is refused (sign-up and log-in
    of any other account), and a log-in from it opens a case on that account; an IP address
    a banned account used only opens a case (households and carriers share addresses)."""
    live = BanSignal.objects.filter(lifted_at__isnull=True)
    if user_id is not None:
        live = live.exclude(user_id=user_id)
    device = (live.filter(kind=BanSignal.Kind.DEVICE, value=device_identifier).first()
              if device_identifier else None)
    address = (live.filter(kind=BanSignal.Kind.IP, value=ip).first()
               if ip and device is None and user_id is not None else None)
    signal = device or address
    if signal is not None and user_id is not None:
        services.case_open_or_merge(
            target_type="user", target_id=user_id, source="automated", policy=Policy.OTHER,
            priority=Priority.HIGH, reason="Possible ban evasion.",
            evidence={"signal": "ban_evasion", "kind": signal.kind,
                      "banned_user_id": str(signal.user_id), "refused": device is not None})
    if device is not None:
        logger.info("refused access from a banned device", extra={"user_id": user_id})
        return "device_banned"
    return None


def publish_gate(*, post_id: int, asset_id: int) -> bool:
    """content's publish gate: while an account's features are limited (strikes), its new
    posts wait for a moderator (a low-priority case each)."""
    author_id = Post.objects.filter(pk=post_id).values_list("author_id", flat=True).first()
    if author_id is None or not Standing.objects.filter(
            user_id=author_id, state=Standing.State.LIMITED,
            limited_until__gt=timezone.now()).exists():
        return False
    services.case_open_or_merge(
        target_type="post", target_id=post_id, source="automated", policy=Policy.OTHER,
        priority=Priority.LOW, reason="The author's features are limited: posts are "
                                      "reviewed before publishing.",
        evidence={"signal": "feature_limit"})
    return True
