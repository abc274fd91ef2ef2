"""`POST /api/v1/live/{live_id}/report`: report a live (or one message of its chat) to
moderation. Thin: parse, call `apps.live.safety.reporting`, render the report as
moderation's report API does."""

from __future__ import annotations

from typing import Any

from django.urls import URLPattern, URLResolver, path
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.content.api.serializers import IdField
from apps.core.api.schema import ErrorDocs
from apps.live.safety import reporting
from apps.moderation.api.views import ReportOutput, ReportThrottle
from apps.moderation.policies import Policy

errors = ErrorDocs({
    400: "Bad input, your own live or message.",
    404: "No such live for you (or a message not in its chat).",
    409: "You already reported this; it is being reviewed.",
})


class LiveReportApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ReportThrottle]  # reports' own budget (mass-reporting)

    @extend_schema_serializer(component_name="LiveReportInput")
    class InputSerializer(serializers.Serializer[Any]):
        message_id = IdField(required=False, allow_null=True,
                             help_text="A chat message reported (none: the live itself).")
        policy = serializers.ChoiceField(choices=Policy.choices,
                                         help_text="Which rule it breaks (the reason).")
        details = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    @extend_schema(operation_id="live_report",
                   summary="Report a live or a message of its chat (moderators get the live's "
                           "latest frame and the chat around the report)",
                   request=InputSerializer,
                   responses={201: ReportOutput, **errors(400, 401, 404, 409, 429)},
                   tags=["live"])
    def post(self, request: Request, live_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = reporting.live_report(
            user_of(request), live_id, policy=data["policy"], details=data.get("details", ""),
            message_id=data.get("message_id"))
        return Response(ReportOutput(report).data, status=status.HTTP_201_CREATED)


urlpatterns: list[URLPattern | URLResolver] = [
    path("live/<str:live_id>/report", LiveReportApi.as_view(), name="live-report"),
]
