from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import TimestampedModel


class MediaAsset(TimestampedModel):
    """One uploaded video and everything the pipeline derives from it (renditions, poster,
    preview, storyboard, audio). `content.Post` points at an asset; the asset knows nothing
    of posts and announces readiness through `apps.media.hooks`.

    The asset is also the processing job: its steps are `ProcessingStep` rows."""

    # state_reason of an upload its owner abandoned (tus termination, DELETE): they know.
    CANCELLED_REASON = "The upload was cancelled."

    class Priority(models.TextChoices):
        # a person waiting on the upload page: the `media` queue, never behind bulk work
        USER = "user"
        # backfill, reprocessing, the demo catalogue: the `media-bulk` queue
        BULK = "bulk"

    class State(models.TextChoices):
        UPLOADING = "uploading"
        UPLOADED = "uploaded"
        VALIDATING = "validating"
        PROCESSING = "processing"
        READY = "ready"
        REJECTED = "rejected"
        FAILED = "failed"

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="media_assets"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.UPLOADING)
    state_reason = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)

    # upload (tus 1.0 core against local storage, or an S3 multipart upload to the bucket)
    declared_content_type = models.CharField(max_length=100, blank=True)
    upload_length = models.PositiveBigIntegerField(default=0)
    upload_offset = models.PositiveBigIntegerField(default=0)
    upload_expires_at = models.DateTimeField(null=True, blank=True)
    uploaded_at = models.DateTimeField(null=True, blank=True)
    s3_upload_id = models.CharField(max_length=1024, blank=True)  # "" for tus uploads
    s3_part_size = models.PositiveBigIntegerField(default=0)

    # processing
    priority = models.CharField(max_length=8, choices=Priority.choices, default=Priority.USER)
    # when this run of the pipeline joined its queue (place in line, apps.media.selectors)
    queued_at = models.DateTimeField(null=True, blank=True)
    # when the stalled-job sweep last re-queued it (one re-queue per lease, not per sweep)
    requeued_at = models.DateTimeField(null=True, blank=True)
    probe = models.JSONField(default=dict, blank=True)
    frame_rate = models.FloatField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)  # percent of processing steps done
    processing_started_at = models.DateTimeField(null=True, blank=True)
    playable_at = models.DateTimeField(null=True, blank=True)
    ready_at = models.DateTimeField(null=True, blank=True)
    # relative names (under the asset's directory) of the derived files that exist
    outputs = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "-id"], name="media_asset_owner_recent"),
            models.Index(
                fields=["state", "updated_at"],
                name="media_asset_in_flight",
                condition=models.Q(state__in=["uploaded", "validating", "processing"]),
            ),
            models.Index(
                fields=["priority", "queued_at"],
                name="media_asset_queue_line",
                condition=models.Q(state__in=["uploaded", "validating", "processing"]),
            ),
        ]

    def __str__(self) -> str:
        return f"asset {self.pk} ({self.state})"

    @property
    def is_playable(self) -> bool:
        return self.playable_at is not None


class ProcessingStep(TimestampedModel):
    """One unit of work of an asset's processing (validation, one rendition, the MP4
    fallback, the poster, ...). Idempotent: a step that is `done` is never redone unless the
    asset is reprocessed; `attempts`, timings and the tail of the tool's log are kept."""

    class State(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE, related_name="steps")
    name = models.CharField(max_length=32)  # validate, rendition-360, mp4, poster, ...
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    claimed_by = models.CharField(max_length=64, blank=True)  # the Celery task id running it
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    log_tail = models.TextField(blank=True)
    output = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "name"], name="media_step_unique_name"),
        ]
        indexes = [
            models.Index(
                fields=["heartbeat_at"],
                name="media_step_running",
                condition=models.Q(state="running"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} of asset {self.asset_id} ({self.state})"

    @property
    def duration_seconds(self) -> float | None:
        if self.started_at is None or self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class CaptionTrack(TimestampedModel):
    """Timed subtitles of an asset in one language (not a post's caption text, which is
    `content.Post.caption`): made by speech recognition (`apps.media.asr`), uploaded by
    the creator as WebVTT/SRT, or edited. Published as `subs/<lang>-<version>.vtt` with a
    media playlist, listed in the master playlist as an EXT-X-MEDIA SUBTITLES rendition,
    so it is served under the same grant (the same visibility) as the video."""

    class Source(models.TextChoices):
        AUTO = "auto"
        UPLOADED = "uploaded"

    class State(models.TextChoices):
        PENDING = "pending"  # speech recognition queued or running
        READY = "ready"
        FAILED = "failed"  # no model for the language, no audio, or recognition failed

    asset = models.ForeignKey(MediaAsset, on_delete=models.CASCADE,
                              related_name="caption_tracks")
    language = models.CharField(max_length=16)  # BCP 47, e.g. "en", "pt-BR"
    source = models.CharField(max_length=8, choices=Source.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    # [{"start_ms": int, "end_ms": int, "text": str}], ordered by start
    cues = models.JSONField(default=list, blank=True)
    # why a track failed, in words the creator is shown
    error = models.TextField(blank=True)
    edited = models.BooleanField(default=False)  # the creator changed words or timings
    # bumped on every change: the published file's name carries it (immutable URLs)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["asset", "language"],
                                    name="media_caption_one_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.language} captions of asset {self.asset_id} ({self.state})"
