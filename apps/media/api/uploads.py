"""Opening and cancelling an upload, and the S3 multipart upload's parts and completion."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.media import services
from apps.media.api._common import _errors, _id, _user_id
from apps.media.api.serializers import (
    AssetOutputSerializer,
    S3PartsOutputSerializer,
    S3PartUrlsOutputSerializer,
)
from apps.media.models import MediaAsset


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
