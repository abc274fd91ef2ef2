"""tus 1.0 core (and the termination extension) on the signed upload URL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import ApplicationError, NotFoundError
from apps.media import services, signing
from apps.media.api._common import _errors

TUS_VERSION = "1.0.0"
TUS_CONTENT_TYPE = "application/offset+octet-stream"
TUS_EXTENSIONS = "termination"
BODY_CHUNK = 256 * 1024


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
