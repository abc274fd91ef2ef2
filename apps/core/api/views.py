from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView


class PingApi(APIView):
    """A no-op endpoint: the baseline that benchmarks compare real endpoints against."""

    permission_classes = [AllowAny]
    throttle_classes: list[type] = []

    @extend_schema(
        responses=inline_serializer("Ping", {"ok": serializers.BooleanField()}),
        tags=["operations"],
    )
    def get(self, request: Request) -> Response:
        return Response({"ok": True})
