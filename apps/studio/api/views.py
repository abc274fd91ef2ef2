"""The studio's API: what the editor may use, validating a document, edits and their
versions, renders and previews. Thin: apps.studio.services decides."""

from __future__ import annotations

from typing import Any

from django.http import FileResponse, HttpResponseRedirect
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.core.api.schema import ErrorDocs
from apps.core.errors import NotFoundError
from apps.core.pagination import IdCursorPagination
from apps.studio import document, graph, luts, selectors, services
from apps.studio.models import EditVersion, Preview, Sticker

errors = ErrorDocs({
    400: "Invalid input, or an edit document the rules refuse (code `invalid_edit`, the "
         "field's dotted path in `fields`), before any rendering starts.",
    404: "No such edit or preview, or not yours.",
    409: "The edit is being rendered, or its latest version was rendered already.",
})

EDIT_ID = OpenApiParameter("edit_id", OpenApiTypes.STR, OpenApiParameter.PATH)
PREVIEW_ID = OpenApiParameter("preview_id", OpenApiTypes.STR, OpenApiParameter.PATH)


class EditDocumentInput(serializers.Serializer[Any]):
    document = document.EditDocumentSerializer()


class EditCreateInput(EditDocumentInput):
    post_id = serializers.CharField(
        required=False, help_text="One of your posts: each render of this edit then "
                                  "becomes the post's video once it has passed the checks.")


class EditVersionSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    id = serializers.CharField(read_only=True)
    asset_id = serializers.CharField(read_only=True, allow_null=True,
                                     help_text="The rendered video's upload, once rendered: "
                                               "post it like any upload.")
    document = document.EditDocumentSerializer(read_only=True)
    switch = serializers.ChoiceField(
        choices=EditVersion.Switch.choices, read_only=True,
        help_text="An edit of a post: `waiting` (for the render's upload to be playable and "
                  "checked), `switched` (the post plays this version) or `refused` (it "
                  "still plays the one before; `switch_reason` says why).")

    class Meta:
        model = EditVersion
        fields = ["id", "number", "state", "state_reason", "duration_ms", "asset_id",
                  "document", "switch", "switch_reason", "created_at", "updated_at"]


class StudioEditSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    post_id = serializers.CharField(allow_null=True,
                                    help_text="The post this edit changes, if any.")
    versions = EditVersionSerializer(many=True)


def _edit_body(version: EditVersion) -> dict[str, Any]:
    edit = version.edit
    edit.refresh_from_db(fields=["post"])  # the render may have found the post since
    versions = services.edit_versions(edit)
    return {"id": str(version.edit_id),
            "post_id": str(edit.post_id) if edit.post_id is not None else None,
            "versions": EditVersionSerializer(versions, many=True).data}


class EditPreviewSerializer(serializers.ModelSerializer):  # type: ignore[type-arg]
    id = serializers.CharField(read_only=True)
    file_url = serializers.SerializerMethodField()

    class Meta:
        model = Preview
        fields = ["id", "state", "state_reason", "duration_ms", "render_seconds", "file_url"]

    def get_file_url(self, obj: Preview) -> str | None:
        if obj.state != Preview.State.DONE:
            return None
        return f"/api/v1/studio/previews/{obj.pk}/file"


class StudioOptions(serializers.Serializer[Any]):
    schema_version = serializers.IntegerField()
    filters = serializers.ListField(child=serializers.CharField())
    fonts = serializers.ListField(child=serializers.CharField())
    transitions = serializers.ListField(child=serializers.CharField())
    voice_effects = serializers.ListField(child=serializers.CharField())
    stickers = serializers.ListField(child=serializers.DictField())
    limits = serializers.DictField(child=serializers.FloatField())
    looks = serializers.DictField(
        child=serializers.ListField(child=serializers.FloatField()),
        help_text="Each filter as the 20 values of an SVG feColorMatrix, for drawing it live "
                  "in an editor (exact for the presets where no channel clips; the render "
                  "applies the LUT).")
    look_adjust = serializers.DictField(
        child=serializers.JSONField(),
        help_text="How brightness, contrast and saturation map onto that matrix: BT.601 "
                  "`luma` weights, `brightness_gain`, `contrast_pivot` (an approximation "
                  "of the render's eq).")


class OptionsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="studio_options", summary="What an edit document may use",
                   responses={200: StudioOptions, **errors(401)}, tags=["studio"])
    def get(self, request: Request) -> Response:
        stickers = Sticker.objects.filter(is_active=True).order_by("name")
        return Response({
            "schema_version": document.SCHEMA_VERSION,
            "filters": ["none", *luts.PRESETS],
            "fonts": list(document.FONTS),
            "transitions": list(document.TRANSITIONS),
            "voice_effects": list(document.VOICE_EFFECTS),
            "stickers": [{"id": str(s.pk), "name": s.name, "kind": s.kind,
                          "animated": s.animated, "url": s.image.url} for s in stickers],
            "limits": {
                "max_clips": document.MAX_CLIPS, "max_timeline_ms": document.MAX_TIMELINE_MS,
                "min_speed": document.MIN_SPEED, "max_speed": document.MAX_SPEED,
                "max_texts": document.MAX_TEXTS, "max_text_chars": document.MAX_TEXT_CHARS,
                "max_stickers": document.MAX_STICKERS,
                "preview_max_ms": document.PREVIEW_MAX_MS,
                "final_short_edge": graph.FINAL_SHORT_EDGE,
                "preview_short_edge": graph.PREVIEW_SHORT_EDGE,
            },
            "looks": {name: luts.stage_matrix(name) for name in ["none", *luts.PRESETS]},
            "look_adjust": {"luma": list(luts.EQ_LUMA),
                            "brightness_gain": luts.EQ_BRIGHTNESS_GAIN,
                            "contrast_pivot": luts.EQ_CONTRAST_PIVOT},
        })


class ValidatedEdit(serializers.Serializer[Any]):
    duration_ms = serializers.IntegerField()
    document = document.EditDocumentSerializer()


class ValidateApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="studio_validate", summary="Check an edit document",
                   request=EditDocumentInput,
                   responses={200: ValidatedEdit, **errors(400, 401, 429)},
                   tags=["studio"])
    def post(self, request: Request) -> Response:
        doc = document.validate_document(_document_of(request), user=user_of(request))
        return Response({"duration_ms": doc.duration_ms, "document": document.canonical(doc)})


def _document_of(request: Request) -> Any:
    data = request.data
    if not isinstance(data, dict) or "document" not in data:
        raise document.EditRefused("Send the edit document as `document`.",
                                   fields={"document": ["This field is required."]})
    return data["document"]


class StudioEditSummary(serializers.Serializer[Any]):
    id = serializers.CharField()
    post_id = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    latest_number = serializers.IntegerField(help_text="The latest version's number.")
    latest_state = serializers.CharField(
        help_text="The latest version's state: draft, rendering, rendered or failed.")
    latest_duration_ms = serializers.IntegerField()
    latest_updated_at = serializers.DateTimeField()


class EditsApi(APIView):
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination

    @extend_schema(operation_id="studio_edits_list",
                   summary="Your saved edits, newest first (to reopen one)",
                   responses={200: StudioEditSummary(many=True), **errors(400, 401)},
                   tags=["studio"])
    def get(self, request: Request) -> Response:
        paginator = IdCursorPagination()
        page = paginator.paginate_queryset(selectors.edits_of(user_of(request)), request,
                                           view=self)
        latest = ("latest_number", "latest_state", "latest_duration_ms", "latest_updated_at")
        rows = [{"id": str(e.pk), "post_id": str(e.post_id) if e.post_id else None,
                 "created_at": e.created_at, **{name: getattr(e, name) for name in latest}}
                for e in page or []]
        return paginator.get_paginated_response(StudioEditSummary(rows, many=True).data)

    @extend_schema(operation_id="studio_edits_create", summary="Save a new edit (a draft)",
                   request=EditCreateInput,
                   responses={201: StudioEditSerializer, **errors(400, 401, 404, 429)},
                   tags=["studio"])
    def post(self, request: Request) -> Response:
        post_id = request.data.get("post_id") if isinstance(request.data, dict) else None
        version = services.edit_create(user=user_of(request), document=_document_of(request),
                                       post_id=post_id)
        return Response(_edit_body(version), status=status.HTTP_201_CREATED)


class EditDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="studio_edits_retrieve", summary="An edit and its versions",
                   parameters=[EDIT_ID], responses={200: StudioEditSerializer, **errors(401, 404)},
                   tags=["studio"])
    def get(self, request: Request, edit_id: str) -> Response:
        edit = selectors.get_edit_for(user_of(request), edit_id)
        return Response(_edit_body(services.edit_latest(edit)))

    @extend_schema(operation_id="studio_edits_update",
                   summary="Change the document (a draft in place; after a render, the next "
                           "version)",
                   parameters=[EDIT_ID], request=EditDocumentInput,
                   responses={200: StudioEditSerializer, **errors(400, 401, 404, 409, 429)},
                   tags=["studio"])
    def put(self, request: Request, edit_id: str) -> Response:
        version = services.edit_update(user=user_of(request), edit_id=edit_id,
                                       document=_document_of(request))
        return Response(_edit_body(version))


class EditRenderApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="studio_edits_render",
                   summary="Render the latest version into a new upload",
                   parameters=[EDIT_ID], request=None,
                   responses={202: StudioEditSerializer, **errors(400, 401, 404, 409, 429)},
                   tags=["studio"])
    def post(self, request: Request, edit_id: str) -> Response:
        version = services.edit_render(user=user_of(request), edit_id=edit_id)
        return Response(_edit_body(version), status=status.HTTP_202_ACCEPTED)


class PreviewsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="studio_previews_create",
                   summary="A quick low-resolution render of a short document",
                   request=EditDocumentInput,
                   responses={202: EditPreviewSerializer, **errors(400, 401, 429)}, tags=["studio"])
    def post(self, request: Request) -> Response:
        preview = services.preview_create(user=user_of(request),
                                          document=_document_of(request))
        return Response(EditPreviewSerializer(preview).data, status=status.HTTP_202_ACCEPTED)


class PreviewDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="studio_previews_retrieve", summary="A preview's state",
                   parameters=[PREVIEW_ID],
                   responses={200: EditPreviewSerializer, **errors(401, 404)}, tags=["studio"])
    def get(self, request: Request, preview_id: str) -> Response:
        preview = selectors.get_preview_for(user_of(request), preview_id)
        return Response(EditPreviewSerializer(preview).data)


class PreviewFileApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="studio_previews_file", summary="The preview's MP4",
                   parameters=[PREVIEW_ID],
                   responses={(200, "video/mp4"): OpenApiResponse(OpenApiTypes.BINARY),
                              302: OpenApiResponse(description="With S3 storage: to a "
                                                   "short-lived presigned URL of the file."),
                              **errors(401, 404)},
                   tags=["studio"])
    def get(self, request: Request, preview_id: str) -> FileResponse | HttpResponseRedirect:
        preview = selectors.get_preview_for(user_of(request), preview_id)
        url = services.preview_url(preview)
        if url is not None:  # kept in the S3 bucket: a short-lived presigned URL
            return HttpResponseRedirect(url)
        path = services.preview_path(preview)
        if path is None:
            raise NotFoundError("The preview is not ready.")
        return FileResponse(path.open("rb"), content_type="video/mp4")
