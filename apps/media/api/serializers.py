"""The media API's output serializers: the asset (state, progress, queue place, signed
playback URLs, the tus URL or the S3 multipart upload) and the S3 parts."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.media import playback, selectors, services, signing
from apps.media.models import MediaAsset


def _upload_path(asset_id: int) -> str:
    from django.urls import reverse

    return reverse("v1:media-tus", kwargs={"token": signing.upload_token(asset_id)})


class S3PartUrlSerializer(serializers.Serializer[Any]):
    part_number = serializers.IntegerField()
    url = serializers.URLField(help_text="Presigned PUT URL; send the part's bytes as the "
                                         "body. The ETag response header is the part's ETag.")


class S3PartSerializer(serializers.Serializer[Any]):
    part_number = serializers.IntegerField()
    etag = serializers.CharField()
    size = serializers.IntegerField()


class S3UploadSerializer(serializers.Serializer[Any]):
    upload_id = serializers.CharField(help_text="The S3 multipart upload id.")
    part_size = serializers.IntegerField(help_text="Bytes of every part but the last.")
    part_count = serializers.IntegerField()
    expires_at = serializers.DateTimeField()
    part_urls = S3PartUrlSerializer(many=True, help_text="The first batch of part URLs.")


class AssetOutputSerializer(serializers.ModelSerializer[MediaAsset]):
    id = serializers.CharField(read_only=True)
    reason = serializers.CharField(source="state_reason", read_only=True)
    upload_progress = serializers.SerializerMethodField()
    playable = serializers.SerializerMethodField()
    upload_url = serializers.SerializerMethodField()
    playback = serializers.SerializerMethodField()
    s3 = serializers.SerializerMethodField()
    queue_position = serializers.SerializerMethodField()
    estimated_start_seconds = serializers.SerializerMethodField()

    class Meta:
        model = MediaAsset
        fields = ["id", "state", "reason", "upload_length", "upload_offset",
                  "upload_progress", "upload_expires_at", "upload_url", "progress",
                  "playable", "queue_position", "estimated_start_seconds", "duration_ms",
                  "width", "height", "created_at", "playable_at", "ready_at", "playback",
                  "s3"]
        read_only_fields = fields

    def _place(self, asset: MediaAsset) -> selectors.QueuePlace | None:
        # both fields come from one reading of the queue
        cached: dict[int, selectors.QueuePlace | None] = self.__dict__.setdefault("_places", {})
        if asset.pk not in cached:
            cached[asset.pk] = selectors.queue_place(asset)
        return cached[asset.pk]

    @extend_schema_field({"type": "integer", "nullable": True, "minimum": 1,
                          "description": "While the upload waits for a worker: its place "
                                         "in line (1 starts next); null once processing "
                                         "began or when it is not in flight."})
    def get_queue_position(self, asset: MediaAsset) -> int | None:
        place = self._place(asset)
        return place.position if place else None

    @extend_schema_field({"type": "integer", "nullable": True, "minimum": 0,
                          "description": "While it waits: about how many seconds until "
                                         "processing starts, from the work ahead and the "
                                         "measured time of recent uploads; null when there "
                                         "is no measurement yet or it is not waiting."})
    def get_estimated_start_seconds(self, asset: MediaAsset) -> int | None:
        place = self._place(asset)
        return place.estimated_start_seconds if place else None

    def get_upload_progress(self, asset: MediaAsset) -> int:
        return int(services.asset_status(asset)["upload_progress"])

    def get_playable(self, asset: MediaAsset) -> bool:
        return asset.playable_at is not None

    @extend_schema_field({"type": "string", "nullable": True,
                          "description": "tus upload URL (signed, expiring)."})
    def get_upload_url(self, asset: MediaAsset) -> str | None:
        if asset.state != MediaAsset.State.UPLOADING or asset.s3_upload_id:
            return None
        request = self.context.get("request")
        path = _upload_path(asset.pk)
        return request.build_absolute_uri(path) if request is not None else path

    @extend_schema_field({"type": "object", "nullable": True, "additionalProperties": True,
                          "description": "hls, mp4, poster, preview, storyboard, audio "
                                         "URLs, duration, dimensions and renditions."})
    def get_playback(self, asset: MediaAsset) -> dict[str, Any] | None:
        # the owner always gets signed URLs (the asset may not be public)
        return playback.playback_for(asset, public_version=None)

    @extend_schema_field(S3UploadSerializer(allow_null=True))
    def get_s3(self, asset: MediaAsset) -> dict[str, Any] | None:
        """The S3 multipart upload, in the answer that opened it (null otherwise: resume
        with GET /uploads/{id}/parts)."""
        s3_upload: dict[str, Any] | None = self.context.get("s3")
        return s3_upload


class S3PartsOutputSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    state = serializers.CharField()
    upload_length = serializers.IntegerField()
    upload_offset = serializers.IntegerField(help_text="Bytes S3 has received.")
    part_size = serializers.IntegerField()
    part_count = serializers.IntegerField()
    parts = S3PartSerializer(many=True, help_text="Parts S3 already has (empty once "
                                                  "complete).")


class S3PartUrlsOutputSerializer(serializers.Serializer[Any]):
    part_urls = S3PartUrlSerializer(many=True)
