"""Starting a duet or stitch: the editor asks whether a post may be borrowed and loads it
(the document's `source` then names it). The rule is apps.studio.derived's."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.content import selectors as content_selectors
from apps.content.api.serializers import PostSerializer
from apps.core.api.schema import ErrorDocs
from apps.core.errors import ApplicationError
from apps.studio import document, takedown

errors = ErrorDocs({
    400: "Not a duet or stitch kind (`kind`), or the post may not be borrowed (code "
         "`remix_refused`, in words: private, friends-only, removed, a draft, its creator "
         "does not allow it, or they are under 16).",
    404: "No such post, or not visible to you.",
})


class OriginalSerializer(serializers.Serializer[Any]):
    kind = serializers.ChoiceField(choices=list(document.SOURCE_KINDS))
    post = PostSerializer(help_text="The original, as the feed shows it (its playback "
                                    "URLs for the editor).")
    stitch_max_ms = serializers.IntegerField(help_text="A stitch borrows up to this much "
                                                       "of the original's start.")
    layouts = serializers.ListField(child=serializers.CharField(),
                                    help_text="A duet's layouts.")


class OriginalApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="studio_original", summary="May I duet or stitch this post? (the "
                                                "editor loads it)",
        parameters=[OpenApiParameter("post_id", OpenApiTypes.STR, OpenApiParameter.PATH),
                    OpenApiParameter("kind", OpenApiTypes.STR, enum=list(document.SOURCE_KINDS),
                                     required=True)],
        responses={200: OriginalSerializer, **errors(400, 401, 404, 429)}, tags=["studio"])
    def get(self, request: Request, post_id: str) -> Response:
        kind = request.query_params.get("kind", "")
        if kind not in document.SOURCE_KINDS:
            raise ApplicationError("kind: \"duet\" or \"stitch\".",
                                   fields={"kind": ["Expected \"duet\" or \"stitch\"."]})
        user = user_of(request)
        pk = content_selectors.parse_post_id(post_id)
        # invisible or missing: the 404 every post endpoint answers
        content_selectors.get_post_for(viewer=user, post_id=pk)
        original = takedown.original_for_editor(user, pk, kind)
        post = content_selectors.get_post_detail_for(viewer=user, post_id=original.post.pk)
        return Response({
            "kind": kind,
            "post": PostSerializer(post, context={"request": request}).data,
            "stitch_max_ms": min(document.STITCH_MAX_MS, original.duration_ms),
            "layouts": list(document.DUET_LAYOUTS),
        })
