"""Re-scans: re-evaluating stored features after a rule, list, claim or setting changes,
and the sweep of stale checks.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from apps.content.models import Post
from apps.core.outbox import enqueue_on_commit
from apps.moderation.detection.models import SEVERITY, AssetCheck, Outcome, Scan
from apps.moderation.detection.services import campaigns
from apps.moderation.detection.services._common import PENDING_STALE, RESCAN_BATCH, RUNNING_STALE
from apps.moderation.detection.services.matching import asset_findings
from apps.moderation.detection.services.scans import (
    _apply_to_post,
    _post_verdict,
    _steps_ready,
    _store_verdict,
)

logger = logging.getLogger(__name__)


def rescan_schedule(*, reason: str) -> None:
    """A rule, list, claim or setting changed: re-evaluate every scanned upload (after this
    transaction commits, in batches on the worker)."""
    from apps.moderation.detection import tasks

    logger.info("moderation.rescan_scheduled", extra={"reason": reason})
    # Through the task outbox: a rescan lost to a broker outage would leave what a new
    # rule or hash list catches published.
    enqueue_on_commit(tasks.rescan_assets, 0, reason)


def _post_rescan(post: Post, check: AssetCheck, *, asset_before: str) -> str:
    """Re-weigh a post after its upload's findings changed. Block and review act only when
    stricter than before (no second case for the same finding); flags are idempotent."""
    before = Scan.objects.filter(target_type="post", target_id=post.pk,
                                 field="caption").order_by("-id").first()
    verdict, scan = _post_verdict(post, check, trigger=Scan.Trigger.RESCAN)
    if post.status == Post.Status.REVIEWING:
        return _apply_to_post(post, verdict, scan, check)
    old = max(SEVERITY[asset_before or Outcome.ALLOW],
              SEVERITY[before.outcome] if before and before.outcome else 0)
    if SEVERITY[verdict.outcome] <= old and verdict.outcome in (Outcome.BLOCK, Outcome.REVIEW):
        return "unchanged"
    return _apply_to_post(post, verdict, scan, check)


def rescan_batch(*, after_id: int, batch_size: int = RESCAN_BATCH) -> int | None:
    """Re-evaluate up to `batch_size` scanned uploads after `after_id` (stored features, so
    no decoding). Returns the last id done, or None when there are no more."""
    ids = list(AssetCheck.objects.filter(pk__gt=after_id, state=AssetCheck.State.DONE)
               .exclude(features={}).order_by("pk").values_list("pk", flat=True)[:batch_size])
    for check_id in ids:
        with transaction.atomic():
            check = AssetCheck.objects.select_for_update().get(pk=check_id)
            before = check.outcome
            signals, matches, timings = asset_findings(check)
            _store_verdict(check, signals, matches, timings, trigger=Scan.Trigger.RESCAN)
            check.save()
        # each post too: its caption is weighed again under today's term lists and rules
        for post in Post.objects.select_related("author").filter(
                asset_id=check.asset_id,
                status__in=[Post.Status.PUBLISHED, Post.Status.REVIEWING]):
            _post_rescan(post, check, asset_before=before)
    return ids[-1] if len(ids) == batch_size else None


def checks_sweep() -> dict[str, int]:
    """Beat: a scan whose worker died (running too long) or whose start was missed (pending
    with its inputs ready) is queued again."""
    from apps.moderation.detection import tasks

    now = timezone.now()
    stale = AssetCheck.objects.filter(state=AssetCheck.State.RUNNING,
                                      updated_at__lt=now - RUNNING_STALE)
    revived = list(stale.values_list("asset_id", flat=True)[:500])
    stale.filter(asset_id__in=revived).update(state=AssetCheck.State.PENDING, updated_at=now)
    pending = list(AssetCheck.objects.filter(state=AssetCheck.State.PENDING,
                                             updated_at__lt=now - PENDING_STALE)
                   .values_list("asset_id", flat=True)[:500])
    queued = 0
    for asset_id in {*revived, *pending}:
        if _steps_ready(asset_id)[0]:
            tasks.scan_asset.delay(asset_id)
            queued += 1
    return {"revived": len(revived), "queued": queued,
            "fingerprints_pruned": campaigns.fingerprints_prune()}
