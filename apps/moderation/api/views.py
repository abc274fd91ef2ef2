"""Reports and appeals for app and web clients (the notices are notifications:
`apps.notifications.api.notices` keeps the old `/me/notices`). Thin: parse, call a service or a
selector, render."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.content.api.serializers import IdField
from apps.core.api.schema import error_responses
from apps.core.pagination import IdCursorPagination
from apps.core.throttles import _WriteThrottle
from apps.moderation import conf, selectors, services
from apps.moderation.models import Appeal, Report, TargetType
from apps.moderation.policies import Policy


class ReportThrottle(_WriteThrottle):
    """Reports are a harassment tool in the wrong hands (mass-reporting): their own budget."""

    scope = "report"
    rate = getattr(settings, "SWIPEME_THROTTLE_REPORTS", "30/hour")


class PolicyOutput(serializers.Serializer[Any]):
    slug = serializers.CharField()
    name = serializers.CharField()
    guideline_url = serializers.CharField()


class ReportOutput(serializers.ModelSerializer[Report]):
    id = serializers.CharField(read_only=True)
    target_id = serializers.CharField(read_only=True)
    guideline_url = serializers.SerializerMethodField()

    class Meta:
        model = Report
        fields = ["id", "target_type", "target_id", "policy", "details", "outcome",
                  "created_at", "resolved_at", "guideline_url"]

    def get_guideline_url(self, report: Report) -> str:
        return conf.guideline_url(report.policy)


class AppealOutput(serializers.ModelSerializer[Appeal]):
    id = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True, help_text="pending, upheld or overturned.")
    action_id = serializers.CharField(read_only=True)

    class Meta:
        model = Appeal
        fields = ["id", "action_id", "statement", "status", "created_at", "decided_at"]


_AUTH = [IsAuthenticated]


class PoliciesApi(APIView):
    permission_classes = [AllowAny]  # public; AllowAny (not []) so the schema says so too

    @extend_schema(operation_id="moderation_policies_list",
                   summary="The policy taxonomy a report picks from, with each rule's "
                           "guideline page",
                   responses={200: PolicyOutput(many=True), **error_responses(429)},
                   tags=["moderation"])
    def get(self, request: Request) -> Response:
        return Response([{"slug": p.value, "name": p.label,
                          "guideline_url": conf.guideline_url(p.value)} for p in Policy])


class ReportsApi(APIView):
    permission_classes = _AUTH
    throttle_classes = [ReportThrottle]

    @extend_schema_serializer(component_name="ReportCreateInput")
    class InputSerializer(serializers.Serializer[Any]):
        target_type = serializers.ChoiceField(choices=TargetType.choices)
        target_id = IdField()
        policy = serializers.ChoiceField(choices=Policy.choices)
        details = serializers.CharField(required=False, allow_blank=True, max_length=1000)

    @extend_schema(operation_id="reports_create",
                   summary="Report a post, comment, account or sound you can see",
                   request=InputSerializer,
                   responses={201: ReportOutput, **error_responses(400, 401, 404, 409, 429)},
                   tags=["moderation"])
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        report = services.report_create(reporter=user_of(request), **data)
        return Response(ReportOutput(report).data, status=status.HTTP_201_CREATED)


class MyReportsApi(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = _AUTH
    pagination_class = IdCursorPagination
    serializer_class = ReportOutput

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Report.objects.none()
        return selectors.reports_for(user_of(self.request))

    @extend_schema(operation_id="me_reports_list",
                   summary="Your reports and what came of them",
                   responses={200: ReportOutput(many=True), **error_responses(400, 401, 429)},
                   tags=["moderation"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class AppealsApi(APIView):
    permission_classes = _AUTH

    @extend_schema_serializer(component_name="AppealCreateInput")
    class InputSerializer(serializers.Serializer[Any]):
        action_id = IdField(help_text="The decision's id (a notice's action_id).")
        statement = serializers.CharField(required=False, allow_blank=True, max_length=2000)

    @extend_schema(operation_id="appeals_create",
                   summary="Appeal a decision about your content or account (within the "
                           "appeal window)",
                   request=InputSerializer,
                   responses={201: AppealOutput, **error_responses(400, 401, 404, 409, 429)},
                   tags=["moderation"])
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        appeal = services.appeal_create(user=user_of(request), **serializer.validated_data)
        return Response(AppealOutput(appeal).data, status=status.HTTP_201_CREATED)
