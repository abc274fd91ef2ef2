"""`POST /api/v1/conversations/{id}/report`: report messages of a conversation (or the
conversation) to moderation, optionally blocking their senders. Thin: parse, call
`apps.messaging.reporting`, render the report as moderation's report API does."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.content.api.serializers import IdField
from apps.core.api.schema import ErrorDocs
from apps.messaging import reporting
from apps.moderation.api.views import ReportOutput, ReportThrottle
from apps.moderation.policies import Policy

errors = ErrorDocs({
    400: "Bad input, a message that was unsent or is your own, or nothing to report.",
    404: "No such conversation for you (or a message not in it).",
    409: "You already reported this message; it is being reviewed.",
})


class ConversationReportApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [ReportThrottle]  # reports' own budget (mass-reporting)

    @extend_schema_serializer(component_name="ConversationReportInput")
    class InputSerializer(serializers.Serializer[Any]):
        message_ids = serializers.ListField(
            child=IdField(), required=False, max_length=reporting.MAX_REPORTED,
            help_text="The messages reported (none: the conversation, i.e. the others' "
                      "latest messages).")
        policy = serializers.ChoiceField(choices=Policy.choices,
                                         help_text="Which rule they break (the reason).")
        details = serializers.CharField(required=False, allow_blank=True, max_length=1000)
        block = serializers.BooleanField(required=False, default=False,
                                         help_text="Also block the senders.")

    @extend_schema(operation_id="conversations_report",
                   summary="Report messages of a conversation (moderators see a copy of "
                           "them and the few around each, nothing else)",
                   request=InputSerializer,
                   responses={201: ReportOutput, **errors(400, 401, 404, 409, 429)},
                   tags=["messages"])
    def post(self, request: Request, conversation_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = reporting.report_messages(
            user_of(request), conversation_id, message_ids=data.get("message_ids") or [],
            policy=data["policy"], details=data.get("details", ""), block=data["block"])
        return Response(ReportOutput(report).data, status=status.HTTP_201_CREATED)
