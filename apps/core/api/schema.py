"""The error shape in the OpenAPI schema: one component for the whole API, and a helper
that documents an endpoint's error answers with descriptions the app words itself."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorBodySerializer(serializers.Serializer[Any]):
    code = serializers.CharField(help_text="Stable, machine-readable reason.")
    message = serializers.CharField(help_text="For people; may change.")
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()),
        help_text="Per-field messages; dotted paths for nested input.",
    )


class ErrorSerializer(serializers.Serializer[Any]):
    """The API's one error shape: {"error": {"code", "message", "fields"}}."""

    error = ErrorBodySerializer()


DEFAULT_ERROR_DESCRIPTIONS: Mapping[int, str] = {
    400: "Invalid input.",
    401: "Not authenticated.",
    403: "Not allowed.",
    404: "Not found, or not visible to you.",
    405: "Method not allowed.",
    409: "Conflict with the current state.",
    412: "Precondition failed.",
    413: "Too large.",
    415: "Unsupported media type.",
    416: "Range not satisfiable.",
    429: "Throttled.",
    507: "Out of storage space for uploads; nothing was saved. Retry after Retry-After.",
}


def error_responses(
    *codes: int, descriptions: Mapping[int, str] | None = None
) -> dict[int, OpenApiResponse]:
    wording = {**DEFAULT_ERROR_DESCRIPTIONS, **(descriptions or {})}
    return {
        code: OpenApiResponse(response=ErrorSerializer, description=wording[code])
        for code in codes
    }


class ErrorDocs:
    """An API module's wording of its error answers (over the defaults), so its views write
    `responses={200: ..., **errors(404, 429)}`. One per module: `errors = ErrorDocs({...})`."""

    def __init__(self, descriptions: Mapping[int, str] | None = None) -> None:
        self.descriptions: Mapping[int, str] = {**DEFAULT_ERROR_DESCRIPTIONS,
                                                **(descriptions or {})}

    def __call__(self, *codes: int) -> dict[int, OpenApiResponse]:
        return error_responses(*codes, descriptions=self.descriptions)

    def but(self, descriptions: Mapping[int, str]) -> ErrorDocs:
        """The same wording with some statuses said differently."""
        return ErrorDocs({**self.descriptions, **descriptions})
