"""Tiny views that exercise core's API machinery in isolation (used via pytest.mark.urls)."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.urls import include, path
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.errors import ConflictError
from apps.core.throttles import BurstWriteThrottle


class ThreePerMinute(BurstWriteThrottle):
    rate = "3/min"

    def get_rate(self) -> str:
        return self.rate


class EchoApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [ThreePerMinute]

    class InputSerializer(serializers.Serializer[dict[str, object]]):
        name = serializers.CharField(max_length=10)
        age = serializers.IntegerField(min_value=0, max_value=200)
        tags = serializers.ListField(
            child=serializers.CharField(max_length=5), max_length=3, required=False
        )

    def get(self, request: Request) -> Response:
        return Response({"ok": True})

    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        if data.validated_data["name"] == "taken":
            raise ConflictError("That name is taken.", code="name_taken")
        if data.validated_data["name"] == "model":
            raise DjangoValidationError({"name": ["Refused by the model."]})
        return Response(data.validated_data, status=201)


class BoomApi(APIView):
    """A bug in a DRF view."""

    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    def get(self, request: Request) -> Response:
        raise RuntimeError("boom")


def plain_boom(request: HttpRequest) -> HttpResponse:
    """A bug in a plain Django view (allauth's are plain Django views)."""
    raise RuntimeError("boom")


def plain_refusal(request: HttpRequest) -> HttpResponse:
    """A plain Django view refusing in words, in text/plain (as protocol views do)."""
    return HttpResponseBadRequest("Upload-Offset must match the bytes received.",
                                  content_type="text/plain; charset=utf-8")


urlpatterns = [
    path("api/v1/echo", EchoApi.as_view()),
    path("api/v1/boom", BoomApi.as_view()),
    path("api/v1/plain-boom", plain_boom),
    path("api/v1/plain-refusal", plain_refusal),
    path("_allauth/plain-boom", plain_boom),
    path("", include("swipeme_site.urls")),
]
handler404 = "apps.core.views.api_not_found"
handler500 = "apps.core.views.api_server_error"
