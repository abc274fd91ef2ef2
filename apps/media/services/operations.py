"""Operations: re-queueing stalled work, reprocessing, purging a user's media."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from apps.core.audit import Actor, record_audit
from apps.core.outbox import enqueue_on_commit
from apps.media import hooks, routing, s3, storage
from apps.media.models import MediaAsset, ProcessingStep
from apps.media.services._common import State, StepState, _enqueue_process, _enqueue_steps
from apps.media.services.notify import _notify_on_commit, _run_hooks
from apps.media.services.s3_uploads import _touch_upload
from apps.media.services.uploads import _drop_upload_bytes

logger = logging.getLogger(__name__)


def assets_requeue_stalled() -> dict[str, int]:
    """Beat: re-queues assets whose processing truly stalled, with ONE task per asset
    (`process_asset` resumes where the asset stopped) and at most once per
    MEDIA_REQUEUE_LEASE_SECONDS; expires abandoned uploads.

    Truly stalled: a step whose worker stopped heart-beating (or a validation that never
    finished), or an asset waiting for work although its queue holds no message (the one
    sent for it was lost). A step merely waiting behind a backlog is not stalled: the
    re-queue would only land behind the same backlog (one sweep once queued 81 tasks for
    one asset, 64 of which found nothing to do)."""
    now = timezone.now()
    stall = timedelta(seconds=settings.MEDIA_STEP_STALL_SECONDS)
    unleased = MediaAsset.objects.filter(
        Q(requeued_at__isnull=True)
        | Q(requeued_at__lt=now - timedelta(seconds=settings.MEDIA_REQUEUE_LEASE_SECONDS)))
    steps = ProcessingStep.objects.filter(asset_id=OuterRef("pk"))
    dead_step = steps.filter(state=StepState.RUNNING, heartbeat_at__lt=now - stall)
    live_step = steps.filter(state=StepState.RUNNING, heartbeat_at__gte=now - stall)
    idle_step = steps.filter(state__in=[StepState.PENDING, StepState.FAILED],
                             updated_at__lt=now - stall)
    dead = set(unleased.filter(
        Q(state=State.PROCESSING, id__in=Subquery(dead_step.values("asset_id")))
        | Q(state=State.VALIDATING, updated_at__lt=now - stall)
    ).values_list("id", flat=True))
    waiting = unleased.filter(
        Q(state=State.PROCESSING) & Exists(idle_step) & ~Exists(live_step)
        | Q(state=State.UPLOADED, updated_at__lt=now - stall)
    ).values_list("id", "priority")
    empty: dict[str, bool] = {}
    for asset_id, priority in waiting:
        queue = routing.queue_for(priority)
        if queue not in empty:
            empty[queue] = routing.messages_waiting(queue) == 0
        if empty[queue]:
            dead.add(asset_id)
    stale_steps = list(ProcessingStep.objects.filter(
        asset_id__in=dead, state=StepState.RUNNING, heartbeat_at__lt=now - stall,
    ).values_list("asset_id", "name"))
    for asset_id, name in stale_steps:
        # Its heartbeat stopped and it is re-queued only below, so every staging directory
        # of the step now is a dead worker's; a cutoff of `stall` kept one the worker had
        # written into in its last moments (the whole-worker-kill test's leftover in CI).
        storage.remove_stale_staging(asset_id, name, older_than_seconds=0)
    requeued = sum(_requeue(asset_id, now, unleased) for asset_id in sorted(dead))
    av1_sent = _resend_av1_of_ready(now, stall, unleased)
    expired = 0
    for asset in MediaAsset.objects.filter(state=State.UPLOADING,
                                           upload_expires_at__lt=now)[:500]:
        if asset.s3_upload_id and s3.enabled() and _s3_upload_moved(asset, now):
            continue  # parts went straight to the bucket meanwhile: not abandoned
        with transaction.atomic():
            moved = MediaAsset.objects.filter(
                pk=asset.pk, state=State.UPLOADING, upload_expires_at__lt=now).update(
                state=State.FAILED, updated_at=now,
                state_reason="The upload was abandoned (no data received for a while) and "
                             "has expired; upload the file again.")
            if moved:
                # a post already made on this upload goes back to draft with this reason
                transaction.on_commit(partial(_run_hooks, hooks.run_asset_failed_hooks,
                                              asset.pk))
                _notify_on_commit(asset.pk)
        if moved:
            expired += 1
            _drop_upload_bytes(asset.pk, asset.s3_upload_id)
    return {"steps": len(stale_steps), "assets": requeued, "expired": expired, "av1": av1_sent}


def _resend_av1_of_ready(now: datetime, stall: timedelta,
                         unleased: QuerySet[MediaAsset]) -> int:
    """The AV1 step of a ready asset (bulk work after the upload; `process_asset` skips a
    ready asset) is sent again when its worker stopped heart-beating, or when it waits
    although the bulk queue holds no message; once per lease, like the assets above."""
    stuck = list(ProcessingStep.objects.filter(name="av1", asset__state=State.READY).filter(
        Q(state=StepState.RUNNING, heartbeat_at__lt=now - stall)
        | Q(state__in=[StepState.PENDING, StepState.FAILED], updated_at__lt=now - stall)
    ).values_list("asset_id", "state")[:500])
    if not stuck:
        return 0
    bulk_empty = routing.messages_waiting(routing.queue_for(MediaAsset.Priority.BULK)) == 0
    sent = 0
    for asset_id, state in stuck:
        if state != StepState.RUNNING and not bulk_empty:
            continue  # merely waiting behind bulk work
        with transaction.atomic():
            if not unleased.filter(pk=asset_id).update(requeued_at=now):
                continue
            _enqueue_steps(asset_id, ["av1"])
        sent += 1
    return sent


def _requeue(asset_id: int, now: datetime, unleased: QuerySet[MediaAsset]) -> bool:
    """One `process_asset` for the asset, unless another sweep took its lease meanwhile
    (through the outbox: a broker down at this moment does not lose it for a lease)."""
    from apps.media.tasks import process_asset

    with transaction.atomic():
        if not unleased.filter(pk=asset_id).update(requeued_at=now):
            return False
        enqueue_on_commit(process_asset, asset_id)
    return True


def _s3_upload_moved(asset: MediaAsset, now: datetime) -> bool:
    """An S3 upload's bytes bypass us: before expiring it, ask the bucket whether more
    arrived since we last looked (then its deadline moves on)."""
    if asset.created_at + settings.MEDIA_UPLOAD_URL_TTL <= now:
        return False
    try:
        parts = s3.list_parts(asset.pk, asset.s3_upload_id)
    except Exception as exc:
        if s3.is_no_such_upload(exc):
            return False
        logger.warning("media: ListParts failed for an idle upload", exc_info=True)
        return True  # unknown: decide at the next sweep
    received = min(sum(p["size"] for p in parts), asset.upload_length)
    if received == asset.upload_offset:
        return False
    _touch_upload(asset, now, upload_offset=received)
    return True


def asset_reprocess(*, asset_id: int, priority: str = MediaAsset.Priority.BULK,
                    actor: Actor = None, reason: str = "", ip: str | None = None,
                    via: str = "admin") -> bool:
    """Runs the whole pipeline again from the kept source (staff: recorded in the audit
    trail; `actor` None for `manage.py media_reprocess`). Files already served stay in
    place until their replacement is finished. Bulk work by default: a reprocessing never
    gets in the way of people's uploads."""
    if not storage.source_path(asset_id).exists() and (
        not s3.enabled() or s3.source_size(asset_id) is None
    ):
        return False
    with transaction.atomic():
        moved = MediaAsset.objects.filter(
            pk=asset_id, state__in=[State.READY, State.FAILED, State.PROCESSING,
                                    State.VALIDATING, State.UPLOADED, State.REJECTED]
        ).update(state=State.UPLOADED, state_reason="", progress=0, ready_at=None,
                 priority=priority, updated_at=timezone.now())
        if not moved:
            return False
        # planned afresh by validation (the plan may differ: settings, rules); the files
        # served now stay until their replacements are placed
        ProcessingStep.objects.filter(asset_id=asset_id).delete()
        record_audit(actor=actor, action="media.asset_reprocess",
                     target=(MediaAsset._meta.model_name or "mediaasset", asset_id),
                     reason=reason, ip=ip, via=via)
        _enqueue_process(asset_id)
        _notify_on_commit(asset_id)
    return True


def assets_for_reprocess(
    *, states: list[str] | None = None, since: datetime | None = None,
    until: datetime | None = None,
) -> list[int]:
    queryset = MediaAsset.objects.exclude(state=State.UPLOADING)
    if states:
        queryset = queryset.filter(state__in=states)
    if since is not None:
        queryset = queryset.filter(created_at__gte=since)
    if until is not None:
        queryset = queryset.filter(created_at__lt=until)
    return list(queryset.order_by("id").values_list("id", flat=True))


def media_purge_user(*, user_id: int) -> None:
    """Account removal: the rows go with the user (cascade, after content removed its
    posts); the files are deleted once that commit happened."""
    ids = list(MediaAsset.objects.filter(owner_id=user_id).values_list("id", flat=True))

    def remove() -> None:
        for asset_id in ids:
            storage.remove_asset_files(asset_id)
            if s3.enabled():
                s3.delete_source(asset_id)

    transaction.on_commit(remove)
