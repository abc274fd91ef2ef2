"""What the content service modules share: limits, the publish target of a request, whether
an asset may be published.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from django.db import transaction
from django.utils import timezone

from apps.content.models import Post
from apps.core.errors import ApplicationError
from apps.media.models import MediaAsset

PIN_LIMIT = 3

SCHEDULE_MIN_LEAD = timedelta(minutes=5)

SCHEDULE_MAX_LEAD = timedelta(days=30)

PUBLISH_DUE_BATCH = 200

Publish = Literal["now", "draft"] | datetime

_UNUSABLE_ASSET_STATES = (MediaAsset.State.REJECTED, MediaAsset.State.FAILED)

_EDITABLE_SETTINGS = (
    "visibility", "comment_policy", "allow_duet", "allow_stitch", "allow_download",
    "language", "cover_time_ms",
)


def asset_is_playable(asset: MediaAsset) -> bool:
    """Whether a post on this asset may be published: media set `playable_at` when the
    lowest rendition was done (and then called its playable hook)."""
    return asset.playable_at is not None and asset.state not in _UNUSABLE_ASSET_STATES


def _target(publish: Publish, *, now: datetime) -> tuple[str, datetime | None]:
    """(status asked for, scheduled_for). `now` may still turn into `processing`."""
    if publish == "now":
        return Post.Status.PUBLISHED, None
    if publish == "draft":
        return Post.Status.DRAFT, None
    if not isinstance(publish, datetime) or timezone.is_naive(publish):
        raise ApplicationError(
            "publish: \"now\", \"draft\" or an ISO 8601 time with a UTC offset.",
            fields={"publish": ["Expected \"now\", \"draft\" or a time with a UTC offset."]},
        )
    if publish < now + SCHEDULE_MIN_LEAD:
        raise ApplicationError(
            "A post can be scheduled at least 5 minutes ahead.",
            code="schedule_too_soon",
            fields={"publish": ["Schedule at least 5 minutes ahead."]},
        )
    if publish > now + SCHEDULE_MAX_LEAD:
        raise ApplicationError(
            "A post can be scheduled at most 30 days ahead.",
            code="schedule_too_late",
            fields={"publish": ["Schedule at most 30 days ahead."]},
        )
    return Post.Status.SCHEDULED, publish


def media_playback_wanted(asset_id: int) -> None:
    """After commit: tell media a post on this upload may go out sooner than its
    pipeline was planned for (a draft published, a schedule brought forward or due); an
    upload planned for one decode then gets its lowest rendition alone, so it plays as
    soon as a publish-now upload would (`apps.media.services.asset_playback_wanted`)."""
    from apps.media.services import asset_playback_wanted

    transaction.on_commit(lambda: asset_playback_wanted(asset_id=asset_id))
