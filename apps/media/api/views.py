"""Media API: open an upload, send its bytes (tus 1.0 core, or an S3 multipart upload to
presigned URLs when the storage is S3), watch the asset's state, and play its files.
Thin: parse, call a service or selector, render."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.schema import ErrorDocs
from apps.core.errors import ApplicationError, NotFoundError
from apps.core.ids import id_or_404
from apps.media import hooks, playback, selectors, services, signing, storage
from apps.media.models import MediaAsset
from apps.media.serving import accel_response, bytes_response, file_response

TUS_VERSION = "1.0.0"
TUS_CONTENT_TYPE = "application/offset+octet-stream"
TUS_EXTENSIONS = "termination"
BODY_CHUNK = 256 * 1024
PLAYLIST_MAX_AGE = 5
IMMUTABLE = "public, max-age=31536000, immutable"
REDIRECT_TTL = 3600  # S3 storage: lifetime of a presigned media URL


_errors = ErrorDocs({
    403: "Not allowed or expired.", 404: "Not found.",
    409: "Conflict (offset mismatch, upload complete or busy).",
    412: "Tus-Resumable missing or unsupported.", 415: "Wrong Content-Type.",
    429: "Limit reached.",
})


def _id(value: int) -> int:
    """Path ids beyond bigint are simply not found (never a database error)."""
    return id_or_404(value)


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


def _user_id(request: Request) -> int:
    pk = request.user.pk
    assert pk is not None
    return int(pk)


def _upload_path(asset_id: int) -> str:
    from django.urls import reverse

    return reverse("v1:media-tus", kwargs={"token": signing.upload_token(asset_id)})


def _s3_upload(asset: MediaAsset, part_urls: list[dict[str, Any]]) -> dict[str, Any]:
    return {"upload_id": asset.s3_upload_id, "part_size": asset.s3_part_size,
            "part_count": services.s3_part_count(asset), "expires_at": asset.upload_expires_at,
            "part_urls": part_urls}


class UploadCreateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="MediaUploadInput")
    class InputSerializer(serializers.Serializer[Any]):
        size = serializers.IntegerField(
            min_value=1, help_text="Bytes the file has.",
            error_messages={"min_value": "The file is empty (0 bytes); choose a video file."},
        )
        content_type = serializers.CharField(max_length=100, help_text="e.g. video/mp4")

    @extend_schema(
        request=InputSerializer,
        responses={201: AssetOutputSerializer, **_errors(400, 401, 413, 429, 507)},
        tags=["media"],
        description="Open an upload. Size and per-user limits (uploads in progress, "
                    "uploads per day) are checked before any byte is accepted. With local "
                    "storage, send the bytes to `upload_url` with the tus 1.0 core protocol "
                    "(HEAD for the offset, PATCH to append) and `s3` is null. With S3 "
                    "storage, `upload_url` is null and `s3` is a multipart upload: PUT each "
                    "part to its presigned URL, then complete; see docs/media-pipeline.md.",
    )
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        owner_id = _user_id(request)
        asset = services.upload_create(owner_id=owner_id, **serializer.validated_data)
        s3_upload = None
        if asset.s3_upload_id:
            asset, urls = services.s3_upload_part_urls(owner_id=owner_id, asset_id=asset.pk)
            s3_upload = _s3_upload(asset, urls)
        context = {"request": request, "s3": s3_upload}
        return Response(AssetOutputSerializer(asset, context=context).data,
                        status=status.HTTP_201_CREATED)


class UploadDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={204: OpenApiResponse(description="Cancelled; the bytes are deleted."),
                   **_errors(401, 404, 409)},
        tags=["media"],
        operation_id="media_uploads_cancel",
        description="Cancel your upload in progress (tus or S3): its bytes are deleted, it "
                    "no longer counts among your uploads in progress, and a post waiting "
                    "on it goes back to draft. Someone else's upload: 404. A finished "
                    "upload: 409 (delete its post instead).",
    )
    def delete(self, request: Request, asset_id: int) -> Response:
        services.upload_terminate(asset_id=_id(asset_id), owner_id=_user_id(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


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


class S3UploadPartsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="MediaS3PartUrlsInput")
    class InputSerializer(serializers.Serializer[Any]):
        part_numbers = serializers.ListField(
            child=serializers.IntegerField(min_value=1), min_length=1, max_length=100,
            help_text="Up to 100 part numbers (1-based).",
        )

    @extend_schema(
        responses={200: S3PartsOutputSerializer, **_errors(401, 404)},
        tags=["media"],
        description="Resume an S3 upload: the parts S3 already has (ListParts), with their "
                    "ETags and sizes. Upload the missing ones and complete.",
    )
    def get(self, request: Request, asset_id: int) -> Response:
        asset, parts = services.s3_upload_parts(owner_id=_user_id(request),
                                                asset_id=_id(asset_id))
        return Response(S3PartsOutputSerializer({
            "id": str(asset.pk), "state": asset.state, "upload_length": asset.upload_length,
            "upload_offset": asset.upload_offset, "part_size": asset.s3_part_size,
            "part_count": services.s3_part_count(asset), "parts": parts,
        }).data)

    @extend_schema(
        request=InputSerializer,
        responses={200: S3PartUrlsOutputSerializer, **_errors(400, 401, 404, 409)},
        tags=["media"],
        description="Presigned PUT URLs for a batch of parts of an S3 upload (they expire "
                    "with the upload).",
    )
    def post(self, request: Request, asset_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        _asset, urls = services.s3_upload_part_urls(
            owner_id=_user_id(request), asset_id=_id(asset_id),
            part_numbers=serializer.validated_data["part_numbers"],
        )
        return Response(S3PartUrlsOutputSerializer({"part_urls": urls}).data)


class S3UploadCompleteApi(APIView):
    permission_classes = [IsAuthenticated]

    class PartInputSerializer(serializers.Serializer[Any]):
        part_number = serializers.IntegerField(min_value=1)
        etag = serializers.CharField(max_length=200)

    @extend_schema_serializer(component_name="MediaS3CompleteInput")
    class InputSerializer(serializers.Serializer[Any]):
        parts = serializers.ListField(child=serializers.DictField(), min_length=1,
                                      max_length=10_000,
                                      help_text="[{part_number, etag}] for every part.")

    @extend_schema(
        request=InputSerializer,
        responses={200: AssetOutputSerializer, **_errors(400, 401, 404, 409)},
        tags=["media"],
        description="Complete an S3 upload with every part's ETag. The parts are checked "
                    "against S3's list (all present, the agreed sizes, the declared length) "
                    "before CompleteMultipartUpload; then the asset is `uploaded` and "
                    "processing starts, as after tus.",
    )
    def post(self, request: Request, asset_id: int) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        parts = []
        for item in serializer.validated_data["parts"]:
            part = self.PartInputSerializer(data=item)
            part.is_valid(raise_exception=True)
            parts.append(dict(part.validated_data))
        asset = services.s3_upload_complete(owner_id=_user_id(request),
                                            asset_id=_id(asset_id), parts=parts)
        return Response(AssetOutputSerializer(asset, context={"request": request}).data)


def _tus_headers(response: HttpResponseBase) -> HttpResponseBase:
    response["Tus-Resumable"] = TUS_VERSION
    response["Cache-Control"] = "no-store"
    return response


class TusUploadApi(APIView):
    """tus 1.0 core. The signed URL is the credential (like an S3 presigned URL), so no
    session is needed and clients may send it from a background uploader."""

    authentication_classes: list[type[Any]] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type[Any]] = []

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        return _tus_headers(super().dispatch(request, *args, **kwargs))

    def _asset_id(self, token: str) -> int:
        asset_id = signing.asset_id_from_upload_token(token)
        if asset_id is None:
            raise NotFoundError("Upload not found or expired.")
        return asset_id

    def _check_version(self, request: Request) -> None:
        if request.headers.get("Tus-Resumable") != TUS_VERSION:
            raise ApplicationError("Tus-Resumable: 1.0.0 is required.", code="tus_version",
                                   status_code=412)

    @extend_schema(exclude=True)
    def options(  # type: ignore[override]
        self, request: Request, *args: Any, **kwargs: Any
    ) -> Response:
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Tus-Version"] = TUS_VERSION
        response["Tus-Max-Size"] = str(settings.MEDIA_UPLOAD_MAX_BYTES)
        response["Tus-Extension"] = TUS_EXTENSIONS
        return response

    @extend_schema(
        parameters=[OpenApiParameter("Tus-Resumable", str, OpenApiParameter.HEADER,
                                     required=True, enum=[TUS_VERSION])],
        responses={204: OpenApiResponse(description="Cancelled; the bytes are deleted."),
                   **_errors(404, 409, 412)},
        tags=["media"],
        operation_id="media_uploads_tus_terminate",
        description="Cancel an upload in progress (tus termination extension): its bytes "
                    "are deleted and it no longer counts among your uploads in progress.",
    )
    def delete(self, request: Request, token: str) -> Response:
        self._check_version(request)
        services.upload_terminate(asset_id=self._asset_id(token))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(exclude=True)
    def head(self, request: Request, token: str) -> Response:
        self._check_version(request)
        asset = services.upload_asset_for_token(asset_id=self._asset_id(token))
        response = Response(status=status.HTTP_200_OK)
        response["Upload-Offset"] = str(asset.upload_offset)
        response["Upload-Length"] = str(asset.upload_length)
        return response

    @extend_schema(
        request={TUS_CONTENT_TYPE: OpenApiTypes.BINARY},
        parameters=[
            OpenApiParameter("Tus-Resumable", str, OpenApiParameter.HEADER, required=True,
                             enum=[TUS_VERSION]),
            OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, required=True),
        ],
        responses={204: OpenApiResponse(description="Appended; Upload-Offset is the new "
                                                    "offset."),
                   **_errors(400, 404, 409, 412, 413, 415, 507)},
        tags=["media"],
        description="Append bytes at Upload-Offset (tus 1.0 core). HEAD on the same URL "
                    "returns Upload-Offset and Upload-Length to resume an interrupted "
                    "upload. When the offset reaches the length, processing starts.",
    )
    def patch(self, request: Request, token: str) -> Response:
        self._check_version(request)
        asset_id = self._asset_id(token)
        if request.content_type.split(";")[0].strip() != TUS_CONTENT_TYPE:
            raise ApplicationError(f"Content-Type must be {TUS_CONTENT_TYPE}.",
                                   code="unsupported_media_type", status_code=415)
        offset_text = request.headers.get("Upload-Offset", "")
        length_text = request.headers.get("Content-Length", "")
        if not offset_text.isdigit() or not length_text.isdigit():
            raise ApplicationError("Upload-Offset and Content-Length are required.")
        raw = request._request

        def chunks() -> Iterator[bytes]:
            while data := raw.read(BODY_CHUNK):
                yield data

        asset = services.upload_append(
            asset_id=asset_id, offset=int(offset_text), length=int(length_text),
            chunks=chunks(),
        )
        response = Response(status=status.HTTP_204_NO_CONTENT)
        response["Upload-Offset"] = str(asset.upload_offset)
        return response


class AssetDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        responses={200: AssetOutputSerializer, **_errors(401, 404)},
        tags=["media"],
        description="The owner's view of an asset: state (uploading → uploaded → "
                    "validating → processing → ready, or rejected/failed with a reason), "
                    "progress, and signed playback URLs once playable. Others get 404. The "
                    "same status is pushed on the websocket /ws/media/assets/<id>/.",
    )
    def get(self, request: Request, asset_id: int) -> Response:
        asset = selectors.get_asset_for(_user_id(request), _id(asset_id))
        return Response(AssetOutputSerializer(asset, context={"request": request}).data)


class MediaPlayApi(APIView):
    """Playback files. `grant` is a public grant naming the asset's current public version
    (media's public hook) or a signed, expiring grant; it sits in the path so playlists'
    relative URLs carry it."""

    authentication_classes: list[type[Any]] = []
    permission_classes = [AllowAny]
    throttle_classes: list[type[Any]] = []

    @extend_schema(
        responses={
            (200, "application/octet-stream"): OpenApiTypes.BINARY,
            (206, "application/octet-stream"): OpenApiTypes.BINARY,
            302: OpenApiResponse(description="S3 storage: the file at a short-lived "
                                             "presigned URL of the bucket (not playlists)."),
            304: OpenApiResponse(description="Not modified (ETag)."),
            **_errors(403, 404, 416),
        },
        parameters=[OpenApiParameter("Range", str, OpenApiParameter.HEADER)],
        tags=["media"],
        description="Media files (playlists, init and media segments, MP4, poster, "
                    "preview, storyboard, audio) with byte ranges and ETags.",
    )
    def get(self, request: Request, asset_id: int, grant: str, name: str) -> HttpResponseBase:
        asset_id = _id(asset_id)
        remote = storage.outputs_are_remote()
        path = None if remote else storage.servable_path(asset_id, name)
        if not storage.SERVABLE.match(name) or (path is None and not remote):
            raise NotFoundError("Not found.")
        playlist = name.endswith(".m3u8")
        public_version = signing.public_grant_version(asset_id, grant)
        if public_version is not None:
            # Only the current public version serves: URLs of an earlier public period
            # (cached a year at the edge) are 404 once the post's visibility moved. The
            # playlists live seconds, so players and the edge soon stop asking for them.
            if hooks.asset_public_version(asset_id=asset_id) != public_version:
                raise NotFoundError("Not found.")
            left = REDIRECT_TTL
            cache = f"public, max-age={PLAYLIST_MAX_AGE}" if playlist else IMMUTABLE
        else:
            expires = signing.playback_grant_expiry(asset_id, grant)
            if expires is None:
                raise ApplicationError("The link has expired or is not valid.",
                                       code="permission_denied", status_code=403)
            left = max(0, int(expires - time.time()))
            cache = f"private, max-age={min(left, PLAYLIST_MAX_AGE if playlist else 3600)}"
        if path is not None:
            if settings.MEDIA_ACCEL_REDIRECT:
                return accel_response(settings.MEDIA_ACCEL_REDIRECT, f"{asset_id}/{name}", path,
                                      cache_control=cache)
            return file_response(request._request, path, cache_control=cache)
        # S3: playlists are read and served here (small; their relative URLs must resolve
        # against this checked path), the rest redirects to a short-lived presigned URL
        # of the bucket, which serves ranges, ETags and types itself
        if playlist:
            data = storage.read_output(asset_id, name)
            if data is None:
                raise NotFoundError("Not found.")
            return bytes_response(request._request, data, name, cache_control=cache)
        ttl = max(60, min(left, REDIRECT_TTL))
        url = storage.presigned_output_url(asset_id, name, expires_in=ttl + 60)
        assert url is not None
        redirect = HttpResponse(status=302)
        redirect["Location"] = url
        # the redirect lives shorter than its URL
        redirect["Cache-Control"] = cache.split(",")[0] + f", max-age={ttl // 2}"
        redirect["Access-Control-Allow-Origin"] = "*"
        return redirect

    @extend_schema(exclude=True)
    def head(self, request: Request, asset_id: int, grant: str, name: str) -> HttpResponseBase:
        return self.get(request, asset_id, grant, name)
