"""The owner's caption tracks of an asset: list, ask for automatic captions, upload a
WebVTT/SRT file, fix words and timings, delete. Viewers get captions through the master
playlist (EXT-X-MEDIA SUBTITLES), under the video's own grant."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import NotFoundError
from apps.media import selectors, services, subtitles
from apps.media.api._common import _errors, _id, _user_id
from apps.media.models import CaptionTrack


class CueSerializer(serializers.Serializer[Any]):
    start_ms = serializers.IntegerField(min_value=0, max_value=subtitles.MAX_TIME_MS)
    end_ms = serializers.IntegerField(min_value=1, max_value=subtitles.MAX_TIME_MS)
    text = serializers.CharField(max_length=subtitles.MAX_CUE_CHARS, trim_whitespace=True)


@extend_schema_serializer(component_name="CaptionTrack")
class CaptionTrackSerializer(serializers.ModelSerializer[CaptionTrack]):
    cues = CueSerializer(many=True, read_only=True)

    class Meta:
        model = CaptionTrack
        fields = ["language", "source", "state", "error", "edited", "version", "cues",
                  "updated_at"]
        read_only_fields = fields


def _track(request: Request, asset_id: int, language: str) -> CaptionTrack:
    asset = selectors.get_asset_for(_user_id(request), _id(asset_id))
    track = CaptionTrack.objects.filter(asset=asset, language=language).first()
    if track is None:
        raise NotFoundError(f"There are no {language!r} captions for this video.")
    return track


class CaptionListApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [JSONParser]

    @extend_schema_serializer(component_name="CaptionAutoInput")
    class InputSerializer(serializers.Serializer[Any]):
        language = serializers.CharField(max_length=16, help_text="e.g. en")

    @extend_schema(responses={200: CaptionTrackSerializer(many=True), **_errors(401, 404)},
                   tags=["media"], description="Your video's caption tracks.")
    def get(self, request: Request, asset_id: int) -> Response:
        asset = selectors.get_asset_for(_user_id(request), _id(asset_id))
        tracks = CaptionTrack.objects.filter(asset=asset).order_by("language")
        return Response(CaptionTrackSerializer(tracks, many=True).data)

    @extend_schema(
        request=InputSerializer,
        responses={202: CaptionTrackSerializer, **_errors(400, 401, 404)},
        tags=["media"],
        description="Ask for automatic captions from the video's speech, made offline once "
                    "its audio is extracted (state pending, then ready or failed with a "
                    "reason). A language without a speech model is refused (400) with "
                    "words saying so. Replaces an existing track of that language.",
    )
    def post(self, request: Request, asset_id: int) -> Response:
        asset = selectors.get_asset_for(_user_id(request), _id(asset_id))
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        track = services.caption_track_request_auto(asset=asset,
                                                    language=data.validated_data["language"])
        return Response(CaptionTrackSerializer(track).data, status=status.HTTP_202_ACCEPTED)


class CaptionDetailApi(APIView):
    permission_classes = [IsAuthenticated]
    parser_classes = [MultiPartParser, JSONParser]

    @extend_schema_serializer(component_name="CaptionUploadInput")
    class UploadSerializer(serializers.Serializer[Any]):
        file = serializers.FileField(help_text="A WebVTT or SRT file, UTF-8, at most 512 KB.")

    @extend_schema_serializer(component_name="CaptionEditInput")
    class EditSerializer(serializers.Serializer[Any]):
        cues = serializers.ListField(child=CueSerializer(), max_length=subtitles.MAX_CUES)

    @extend_schema(responses={200: CaptionTrackSerializer, **_errors(401, 404)},
                   tags=["media"], description="One caption track with its cues.")
    def get(self, request: Request, asset_id: int, language: str) -> Response:
        return Response(CaptionTrackSerializer(_track(request, asset_id, language)).data)

    @extend_schema(
        request={"multipart/form-data": UploadSerializer},
        responses={200: CaptionTrackSerializer, **_errors(400, 401, 404)},
        tags=["media"],
        description="Upload your own captions for `language` (WebVTT or SRT), replacing "
                    "any track of that language. A file that is not valid, too large, "
                    "or whose cues fall outside the video is refused (400) naming the cue.",
    )
    def put(self, request: Request, asset_id: int, language: str) -> Response:
        asset = selectors.get_asset_for(_user_id(request), _id(asset_id))
        data = self.UploadSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        if upload.size > subtitles.MAX_FILE_BYTES:
            raise services.CaptionError(
                f"The subtitle file is larger than {subtitles.MAX_FILE_BYTES // 1024} KB.")
        track = services.caption_track_upload(asset=asset, language=language,
                                              data=upload.read())
        return Response(CaptionTrackSerializer(track).data)

    @extend_schema(
        request=EditSerializer,
        responses={200: CaptionTrackSerializer, **_errors(400, 401, 404)},
        tags=["media"],
        description="Fix words and timings: send the whole cue list; it is checked (times "
                    "inside the video, start before end, text present) and published as a "
                    "new version.",
    )
    def patch(self, request: Request, asset_id: int, language: str) -> Response:
        track = _track(request, asset_id, language)
        data = self.EditSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        track = services.caption_track_edit(track=track, cues=data.validated_data["cues"])
        return Response(CaptionTrackSerializer(track).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted."),
                              **_errors(401, 404)}, tags=["media"],
                   description="Delete a caption track; players stop showing it.")
    def delete(self, request: Request, asset_id: int, language: str) -> Response:
        services.caption_track_delete(track=_track(request, asset_id, language))
        return Response(status=status.HTTP_204_NO_CONTENT)
