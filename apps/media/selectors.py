"""Reads of media, with the permission check in the name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db.models import F, Sum
from django.utils import timezone

from apps.core.errors import NotFoundError
from apps.media.models import MediaAsset, ProcessingStep


def get_asset_for(user_id: int, asset_id: int) -> MediaAsset:
    """The asset if `user_id` owns it; anyone else gets the same 404 as a missing id."""
    asset = MediaAsset.objects.filter(pk=asset_id, owner_id=user_id).first()
    if asset is None:
        raise NotFoundError("Not found.")
    return asset


# How many recently finished uploads measure the processing time of one.
RECENT_FOR_ESTIMATE = 20


@dataclass(frozen=True)
class QueuePlace:
    """A waiting upload's place in its queue: 1 starts next. The estimate is None until
    uploads of its priority have been processed recently (nothing honest to say yet)."""

    position: int
    estimated_start_seconds: int | None


def _started(asset: MediaAsset) -> bool:
    """Work on the asset began: validation, or one of its planned steps."""
    if asset.state == MediaAsset.State.VALIDATING:
        return True
    return ProcessingStep.objects.filter(asset=asset, started_at__isnull=False).exclude(
        name="validate").exists()


def seconds_per_asset(priority: str) -> float | None:
    """Measured: the worker time (the sum of its steps' run times) of one upload, averaged
    over the last RECENT_FOR_ESTIMATE of this priority that finished in the last day."""
    since = timezone.now() - timedelta(days=1)
    recent = list(MediaAsset.objects.filter(
        priority=priority, state=MediaAsset.State.READY, ready_at__gte=since,
    ).order_by("-ready_at").values_list("id", flat=True)[:RECENT_FOR_ESTIMATE])
    if not recent:
        return None
    total = ProcessingStep.objects.filter(
        asset_id__in=recent, started_at__isnull=False, finished_at__isnull=False,
    ).exclude(name="av1").aggregate(  # AV1 is later bulk work, no part of an upload's time
        total=Sum(F("finished_at") - F("started_at")))["total"]
    return total.total_seconds() / len(recent) if total else None


def queue_place(asset: MediaAsset) -> QueuePlace | None:
    """None unless the asset waits for a worker (uploaded, or planned with no step begun).
    Ahead of it: the unfinished uploads of its priority that joined the queue before it,
    each counted by the share of its work still to do."""
    in_flight = (MediaAsset.State.UPLOADED, MediaAsset.State.VALIDATING,
                 MediaAsset.State.PROCESSING)
    if asset.state not in in_flight or asset.queued_at is None or _started(asset):
        return None
    ahead = list(MediaAsset.objects.filter(
        state__in=in_flight, priority=asset.priority, queued_at__lt=asset.queued_at,
    ).exclude(pk=asset.pk).values_list("progress", flat=True))
    per_asset = seconds_per_asset(asset.priority)
    estimate = None
    if per_asset is not None:
        workers = (settings.MEDIA_USER_WORKER_CONCURRENCY
                   if asset.priority == MediaAsset.Priority.USER else 1)
        left = sum(per_asset * (100 - progress) / 100 for progress in ahead)
        estimate = round(left / max(1, workers))
    return QueuePlace(position=len(ahead) + 1, estimated_start_seconds=estimate)


def transcripts_of(asset_ids: list[int]) -> dict[int, str]:
    """The spoken words of each asset, from its ready caption tracks (for search): one
    query for many assets."""
    from apps.media.models import CaptionTrack

    texts: dict[int, list[str]] = {}
    for asset_id, cues in (CaptionTrack.objects
                           .filter(asset_id__in=asset_ids, state=CaptionTrack.State.READY)
                           .order_by("asset_id", "language").values_list("asset_id", "cues")):
        texts.setdefault(asset_id, []).append(" ".join(c["text"] for c in cues))
    return {asset_id: " ".join(parts) for asset_id, parts in texts.items()}
