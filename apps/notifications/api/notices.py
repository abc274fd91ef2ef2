"""`/me/notices` and `/me/notices/read`, kept for older clients (deprecated): moderation's
notices are notifications now (`GET /notifications`, `POST /notifications/{id}/read`),
and their read state is the inbox's. Same paths, operation ids and shapes as when
moderation served them; `read_at` reads through to the notice's notification, and
marking a notice read marks its notification read."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.content.api.serializers import IdField
from apps.core.api.schema import error_responses
from apps.core.pagination import IdCursorPagination
from apps.moderation import selectors as moderation_selectors
from apps.moderation.models import Notice
from apps.notifications import selectors, services

_DEPRECATED = ("Deprecated: moderation notices are in `GET /api/v1/notifications` (types "
               "moderation_removal, moderation_limit, moderation_account, appeal_decided), "
               "with one read state. ")


class NoticeOutput(serializers.ModelSerializer[Notice]):
    id = serializers.CharField(read_only=True)
    action_id = serializers.CharField(read_only=True, allow_null=True)
    can_appeal = serializers.SerializerMethodField()
    read_at = serializers.DateTimeField(
        read_only=True, allow_null=True,
        help_text="When its notification was read (the inbox's read state); null: unread.")

    class Meta:
        model = Notice
        fields = ["id", "kind", "title", "body", "policy", "guideline_url", "action_id",
                  "appealable_until", "can_appeal", "created_at", "read_at"]

    def get_can_appeal(self, notice: Notice) -> bool:
        return moderation_selectors.notice_can_appeal(notice)


_AUTH = [IsAuthenticated]


class MyNoticesApi(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = _AUTH
    pagination_class = IdCursorPagination
    serializer_class = NoticeOutput

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Notice.objects.none()
        return selectors.notices_with_read_state(user_of(self.request))

    @extend_schema(operation_id="me_notices_list", deprecated=True,
                   summary="Decisions about your content or account, why, and the rule",
                   description=_DEPRECATED,
                   responses={200: NoticeOutput(many=True), **error_responses(400, 401, 429)},
                   tags=["moderation"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class NoticesReadApi(APIView):
    permission_classes = _AUTH

    @extend_schema_serializer(component_name="NoticesReadInput")
    class InputSerializer(serializers.Serializer[Any]):
        ids = serializers.ListField(child=IdField(), min_length=1, max_length=100)

    class OutputSerializer(serializers.Serializer[Any]):
        marked = serializers.IntegerField()

    @extend_schema(operation_id="me_notices_read", deprecated=True,
                   summary="Mark your notices read (ids that are not yours are ignored)",
                   description=_DEPRECATED + "Marks the notices' notifications read.",
                   request=InputSerializer,
                   responses={200: OutputSerializer, **error_responses(400, 401, 429)},
                   tags=["moderation"])
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        marked = services.notifications_mark_read_about(
            user=user_of(request), target_type="notice",
            target_ids=serializer.validated_data["ids"])
        return Response({"marked": marked})
