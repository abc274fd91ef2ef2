"""Celery tasks of automated detection: thin, idempotent, on the default queue."""

from __future__ import annotations

import logging
from typing import Any

from celery import shared_task
from django.db import transaction

from apps.core.outbox import enqueue_on_commit
from apps.moderation.detection import services

logger = logging.getLogger(__name__)

SCAN_MAX_RETRIES = 4


def retry_countdown(retries: int) -> int:
    """Back-off between scan attempts: 5 s, 10 s, 20 s, 40 s."""
    return int(min(300, 5 * 2 ** retries))


@shared_task(name="apps.moderation.detection.scan_asset", bind=True, acks_late=True,
             max_retries=SCAN_MAX_RETRIES)
def scan_asset(self: Any, asset_id: int, trigger: str = "upload") -> str:
    """An upload's pre-publish scan. A crash is retried with back-off; after the last
    retry the posts waiting on the upload go to human review."""
    try:
        return services.asset_scan(asset_id=asset_id, trigger=trigger)
    except Exception as exc:
        final = self.request.retries >= SCAN_MAX_RETRIES
        logger.warning("moderation.scan_failed", extra={"asset_id": asset_id, "final": final},
                       exc_info=True)
        services.asset_scan_failed(asset_id=asset_id, error=f"{type(exc).__name__}: {exc}",
                                   final=final)
        if final:
            return "failed: sent to review"
        raise self.retry(exc=exc, countdown=retry_countdown(self.request.retries)) from exc


@shared_task(name="apps.moderation.detection.settle_post", acks_late=True)
def settle_post(post_id: int) -> str:
    return services.post_settle(post_id=post_id)


@shared_task(name="apps.moderation.detection.scan_comment", acks_late=True)
def scan_comment(comment_id: int) -> str:
    return services.comment_scan(comment_id=comment_id)


@shared_task(name="apps.moderation.detection.scan_profile", acks_late=True)
def scan_profile(user_id: int, fields: list[str]) -> str:
    return services.profile_scan(user_id=user_id, fields=fields)


@shared_task(name="apps.moderation.detection.rescan_assets", acks_late=True)
def rescan_assets(after_id: int = 0, reason: str = "") -> int | None:
    """One batch of the re-scan, then the next batch as a new task (no long task holds a
    worker slot, and a crash resumes from the last finished batch)."""
    last = services.rescan_batch(after_id=after_id)
    if last is not None:
        with transaction.atomic():  # through the outbox: a broker outage does not end it
            enqueue_on_commit(rescan_assets, last, reason)
    return last


@shared_task(name="apps.moderation.detection.sweep_checks")
def sweep_checks() -> dict[str, int]:
    """Beat: re-queue scans whose worker died or whose start was missed."""
    return services.checks_sweep()


@shared_task(name="apps.moderation.detection.fingerprint_chat_text", acks_late=True)
def fingerprint_chat_text(author_id: int, field: str, token: int, content: str) -> str:
    """A direct message or live chat line for the copy-paste campaign detector."""
    from apps.moderation.detection.services import chat_campaigns

    return chat_campaigns.chat_text_fingerprint(author_id=author_id, field=field, token=token,
                                                content=content)
