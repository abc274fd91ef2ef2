"""`GET /api/v1/flags` (the caller's evaluated flags, with a strong ETag) and
`POST /api/v1/flags/exposures` (the client used an experiment's value: log the exposure).

The caller is the signed-in user, else the device (`X-Device-Id`, or the web's device
cookie); `X-Client-Platform` and `X-App-Version` feed the targeting rules. The flags answer
logs no exposure: a client logs one when it uses a value (the exposures call), and the
server decides the arm again there — a client never names its own arm.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.http import HttpResponse
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.schema import error_responses
from apps.core.errors import ApplicationError
from apps.experiments import evaluation

MAX_EXPOSURES = 50

_HEADERS = [
    OpenApiParameter(
        "X-Device-Id",
        str,
        OpenApiParameter.HEADER,
        required=False,
        description="The install's id (the unit of a signed-out caller).",
    ),
    OpenApiParameter(
        "X-Client-Platform",
        str,
        OpenApiParameter.HEADER,
        required=False,
        enum=["ios", "android", "web"],
    ),
    OpenApiParameter("X-App-Version", str, OpenApiParameter.HEADER, required=False),
]


class FlagValueSerializer(serializers.Serializer[Any]):
    value = serializers.JSONField(
        help_text="The flag's value for you (boolean, string, number, list or object)."
    )
    experiment = serializers.CharField(
        allow_null=True,
        help_text="The experiment that decided the value: report its use "
        "with POST /api/v1/flags/exposures. Null otherwise.",
    )


class FlagsSerializer(serializers.Serializer[Any]):
    flags = serializers.DictField(child=FlagValueSerializer())  # type: ignore[assignment]


class ExposuresInputSerializer(serializers.Serializer[Any]):
    experiments = serializers.ListField(
        child=serializers.CharField(max_length=64),
        min_length=1,
        max_length=MAX_EXPOSURES,
        help_text="Keys of the experiments whose values you just used.",
    )


class ExposuresResultSerializer(serializers.Serializer[Any]):
    recorded = serializers.IntegerField(
        help_text="How many named experiments you are in (the others are ignored)."
    )


def flags_body(request: Any) -> dict[str, Any]:
    """The evaluated flags of a request's caller (also bootstrapped into the web pages)."""
    return {"flags": evaluation.for_request(request).client_values()}


def _etag(body: bytes) -> str:
    return '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"'


def _matches(header: str, etag: str) -> bool:
    """If-None-Match uses the weak comparison (RFC 9110 13.1.2): W/ prefixes are ignored."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


class FlagsApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="flags_list",
        summary="The feature flags evaluated for you",
        description="Every client-visible flag's value for the caller (the signed-in user, "
        "else the X-Device-Id device), by platform and app version. Strong "
        "ETag: send it back in If-None-Match and an unchanged answer is a 304 "
        "without a body. When `experiment` is set, call "
        "POST /api/v1/flags/exposures with it when the value is first used.",
        parameters=[
            *_HEADERS,
            OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, required=False),
        ],
        responses={
            200: FlagsSerializer,
            304: OpenApiResponse(description="Not modified (the ETag matches)."),
            **error_responses(429),
        },
        tags=["flags"],
    )
    def get(self, request: Request) -> HttpResponse:
        body = json.dumps(
            flags_body(request._request), sort_keys=True, separators=(",", ":")
        ).encode()
        etag = _etag(body)
        headers = {
            "ETag": etag,
            "Cache-Control": "private, no-cache",
            "Vary": "Cookie, X-Session-Token, X-Device-Id, X-Client-Platform, "
            "X-App-Version, Accept-Language",
        }
        if _matches(request.headers.get("If-None-Match", ""), etag):
            return HttpResponse(status=304, headers=headers)
        return HttpResponse(body, content_type="application/json", headers=headers)


class ExposuresApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="flags_exposures_create",
        summary="Report that you used experiments' values",
        description="The server finds your arm itself and logs one exposure per experiment "
        "and day; experiments you are not in are ignored.",
        parameters=_HEADERS,
        request=ExposuresInputSerializer,
        responses={200: ExposuresResultSerializer, **error_responses(400, 403, 429)},
        tags=["flags"],
    )
    def post(self, request: Request) -> Response:
        data = ExposuresInputSerializer(data=request.data)
        if not data.is_valid():
            field, problems = next(iter(data.errors.items()))
            message = problems[0] if isinstance(problems, list) else str(problems)
            if isinstance(message, dict):
                message = next(iter(message.values()))[0]
            raise ApplicationError(
                f"{field}: {message}", fields={str(k): [str(v)] for k, v in data.errors.items()}
            )
        ev = evaluation.for_request(request._request)
        recorded = 0
        for key in dict.fromkeys(data.validated_data["experiments"]):
            if ev.arm(key, expose=True) is not None:
                recorded += 1
        return Response({"recorded": recorded})
