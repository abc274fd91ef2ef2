"""One error shape for the whole API: {"error": {"code", "message", "fields"}}.

Services raise ApplicationError (or a subclass); DRF's own exceptions and Django's
Http404 / PermissionDenied / ValidationError are mapped to the same shape here.
"""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, JsonResponse
from django.template.defaultfilters import filesizeformat
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from apps.core import redis_health

logger = logging.getLogger("apps.core.outage")


class ApplicationError(Exception):
    """A business rule said no. Carries an HTTP status, a stable code and field errors."""

    status_code: int = status.HTTP_400_BAD_REQUEST
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        fields: dict[str, list[str]] | None = None,
        status_code: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code


class NotFoundError(ApplicationError):
    status_code = status.HTTP_404_NOT_FOUND
    code = "not_found"


class ForbiddenError(ApplicationError):
    status_code = status.HTTP_403_FORBIDDEN
    code = "permission_denied"


class ConflictError(ApplicationError):
    status_code = status.HTTP_409_CONFLICT
    code = "conflict"


class TooLargeError(ApplicationError):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    code = "too_large"


class InsufficientStorageError(ApplicationError):
    """The disk is (nearly) full: temporary, so answered with Retry-After."""

    status_code = status.HTTP_507_INSUFFICIENT_STORAGE
    code = "insufficient_storage"


# Statuses that mean "not now, later": the answer says when to retry (the clients do).
RETRYABLE_STATUSES = (503, 507)


def request_too_large() -> TooLargeError:
    """Django's RequestDataTooBig (a body over DATA_UPLOAD_MAX_MEMORY_SIZE) as an answer."""
    limit = filesizeformat(settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0).replace("\xa0", " ")
    return TooLargeError(f"The request body is too large (at most {limit}).")


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def error_response(exc: ApplicationError) -> JsonResponse:
    """For code outside DRF (middleware, plain Django views)."""
    return JsonResponse(error_body(exc.code, exc.message, exc.fields), status=exc.status_code)


# Codes and words for an error status when nothing more specific is known (an error page
# from Django or a third-party view reshaped by apps.core.middleware). Codes match DRF's.
_STATUS_WORDING: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be understood."),
    401: ("not_authenticated", "Authentication credentials were not provided."),
    403: ("permission_denied", "You do not have permission to perform this action."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", "This method is not allowed here."),
    406: ("not_acceptable", "Could not satisfy the request Accept header."),
    413: ("too_large", "The request body is too large."),
    415: ("unsupported_media_type", "Unsupported media type in the request."),
    429: ("throttled", "Too many requests; try again later."),
    500: ("server_error", "Something went wrong on our side; it has been logged."),
}


def error_for_status(status_code: int) -> tuple[str, str]:
    """(code, message) for an HTTP error status."""
    if status_code in _STATUS_WORDING:
        return _STATUS_WORDING[status_code]
    try:
        phrase = HTTPStatus(status_code).phrase
    except ValueError:
        phrase = "Server error" if status_code >= 500 else "Bad request"
    return phrase.lower().replace(" ", "_").replace("-", "_"), f"{phrase}."


def _flatten_fields(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF nests errors for nested serializers and lists; clients get dotted paths."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            out.update(_flatten_fields(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            out[prefix or "non_field_errors"] = [str(item) for item in detail]
        else:
            for index, item in enumerate(detail):
                if item:
                    out.update(_flatten_fields(item, f"{prefix}.{index}" if prefix else str(index)))
    else:
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


def unavailable_body() -> tuple[dict[str, Any], dict[str, str]]:
    """A dependency (Redis) is unavailable and the request has no fallback: refused with 503
    and Retry-After, never a 500 (clients retry)."""
    return (error_body("unavailable", "SwipeMe is briefly unavailable; please retry shortly."),
            {"Retry-After": str(redis_health.RETRY_AFTER_SECONDS)})


# PostgreSQL unreachable, restarting, or a transient failure (deadlock, serialisation,
# statement timeout): nothing is committed, so the request may simply be retried.
DATABASE_OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)


def is_database_outage(exc: BaseException) -> bool:
    return isinstance(exc, DATABASE_OUTAGE_ERRORS)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if redis_health.is_outage(exc) or is_database_outage(exc):
        request = context.get("request")
        logger.warning("refused, a dependency is unavailable: %s: %s: %s", type(exc).__name__,
                       exc, getattr(request, "path", "?"))
        body, headers = unavailable_body()
        return Response(body, status=503, headers=headers)
    if isinstance(exc, RequestDataTooBig):
        exc = request_too_large()
    if isinstance(exc, ApplicationError):
        # A 503 or 507 is temporary by definition: say when to retry (the clients do).
        retry = ({"Retry-After": str(redis_health.RETRY_AFTER_SECONDS)}
                 if exc.status_code in RETRYABLE_STATUSES else None)
        return Response(error_body(exc.code, exc.message, exc.fields), status=exc.status_code,
                        headers=retry)
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {}
        message = "; ".join(exc.messages)
        return Response(error_body("invalid", message, fields), status=400)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    response = exception_handler(exc, context)
    if response is None:
        return None  # a real bug: let Django's 500 handler (also JSON under /api/) report it
    assert isinstance(exc, exceptions.APIException)
    if isinstance(exc, exceptions.ValidationError):
        fields = _flatten_fields(exc.detail)
        first = next(iter(fields.items()), None)
        message = f"{first[0]}: {first[1][0]}" if first else "Invalid input."
        response.data = error_body("invalid", message, fields)
    else:
        detail = exc.detail
        message = str(detail if not isinstance(detail, (dict, list)) else exc.default_detail)
        response.data = error_body(str(exc.default_code), message)
        wait = getattr(exc, "wait", None)
        if isinstance(exc, exceptions.Throttled) and wait is not None:
            response.data["error"]["retry_after"] = int(wait)
    return response
