"""Media API: open an upload, send its bytes (tus 1.0 core, or an S3 multipart upload to
presigned URLs when the storage is S3), watch the asset's state, and play its files.
Thin: parse, call a service or selector, render.

One module per resource: `uploads` (open, cancel, S3 parts and completion), `tus`
(the tus URL), this one (the owner's asset and the playback files);
`serializers` and `_common` are shared."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.http import HttpResponse, HttpResponseBase
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import ApplicationError, NotFoundError
from apps.media import hooks, selectors, signing, storage
from apps.media.api._common import _errors, _id, _user_id
from apps.media.api.serializers import AssetOutputSerializer
from apps.media.serving import accel_response, bytes_response, file_response

PLAYLIST_MAX_AGE = 5
IMMUTABLE = "public, max-age=31536000, immutable"
REDIRECT_TTL = 3600  # S3 storage: lifetime of a presigned media URL


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
