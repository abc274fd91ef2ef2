from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.core.signals import got_request_exception
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.template import loader

from apps.core.errors import (
    error_body,
    error_for_status,
    error_response,
    is_database_outage,
    request_too_large,
    unavailable_body,
)
from apps.core.logging import request_id_var
from apps.core.parsers import JSONTooDeepError, json_depth_exceeds
from apps.core.redis_health import is_outage

# Paths whose clients are programs: every error they get is JSON in the error shape.
API_PREFIXES = ("/api/", "/_allauth/")
# Methods no endpoint serves. CSRF treats TRACE as safe, so it must not reach any view.
REFUSED_METHODS = frozenset({"TRACE", "CONNECT"})
SERVED_METHODS = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"]

security_logger = logging.getLogger("django.security.RequestDataTooBig")
outage_logger = logging.getLogger("apps.core.redis_health")
database_logger = logging.getLogger("apps.core.database")


def is_api_path(path: str) -> bool:
    return path.startswith(API_PREFIXES)


_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    """Takes a sane X-Request-ID from the proxy or makes one; logs and the response carry it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
        response["X-Request-ID"] = request_id
        return response


class DatabaseUnavailableMiddleware:
    """PostgreSQL restarting or unreachable (django.db OperationalError / InterfaceError):
    the request is refused with 503 and Retry-After, in the error shape under the API
    prefixes and as a styled page elsewhere, never a traceback (not even under DEBUG).
    Clients retry (see tests/faults/test_postgres_restart.py for the one write in flight);
    Django reconnects by itself on a later request
    (CONN_HEALTH_CHECKS drops a persistent connection that broke).

    A view's error arrives in process_exception. One raised in a middleware below this one
    (a session or user lookup) was already turned into a 500 by Django's handler; the
    got_request_exception receiver below notes it on the request, and the 500 is replaced."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        noted = getattr(request, "_swipeme_database_outage", None)
        if response.status_code == 500 and noted is not None:
            return database_unavailable_response(request, noted)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if is_database_outage(exception):
            return database_unavailable_response(request, exception)
        return None


@receiver(got_request_exception, dispatch_uid="core-note-database-outage")
def _note_database_outage(sender: object, request: HttpRequest | None = None,
                          **kwargs: object) -> None:
    import sys

    exc = sys.exc_info()[1]
    if request is not None and exc is not None and is_database_outage(exc):
        request._swipeme_database_outage = exc  # type: ignore[attr-defined]


def database_unavailable_response(request: HttpRequest, exc: BaseException) -> HttpResponse:
    database_logger.warning("refused while the database is unavailable: %s: %s",
                            type(exc).__name__, request.path)
    body, headers = unavailable_body()
    if is_api_path(request.path):
        return JsonResponse(body, status=503, headers=headers)
    # No request context: the page must not need the database (no user, no session).
    page = loader.get_template("503.html").render({})
    return HttpResponse(page, status=503, headers=headers)


class SecurityHeadersMiddleware:
    """Headers Django's SecurityMiddleware does not set."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.setdefault(
            "Permissions-Policy", "camera=(self), microphone=(self), geolocation=(), payment=()"
        )
        response.setdefault("Cross-Origin-Resource-Policy", "same-site")
        if request.path.startswith("/api/"):
            # Personalised JSON must never be stored by a shared cache.
            response.setdefault("Cache-Control", "private, no-store")
        return response


def _is_json(response: HttpResponse) -> bool:
    content_type = response.get("Content-Type", "").split(";")[0].strip().lower()
    return content_type == "application/json" or content_type.endswith("+json")


class ApiErrorShapeMiddleware:
    """Under /api/ and /_allauth/ every error answer is JSON in the error shape, whatever
    produced it: Django's 404/500 (HTML debug pages when DEBUG is on), a 405 or 400 from a
    plain Django or allauth view, a CSRF or guard refusal. Status and headers are kept; a
    short text/plain body becomes the message. A body over DATA_UPLOAD_MAX_MEMORY_SIZE met
    inside a view is a 413 (Django would answer 400)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if (response.status_code >= 400 and is_api_path(request.path)
                and request.method != "HEAD" and not _is_json(response)):
            return _reshaped(response)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig) and is_api_path(request.path):
            security_logger.warning("%s: %s", exception, request.path)
            return error_response(request_too_large())
        if is_outage(exception):  # Redis unavailable where nothing falls back: 503, retry
            outage_logger.warning("refused during a Redis outage: %s: %s", exception,
                                  request.path)
            body, headers = unavailable_body()
            if is_api_path(request.path):
                return JsonResponse(body, status=503, headers=headers)
            return HttpResponse(body["error"]["message"], status=503, headers=headers,
                                content_type="text/plain; charset=utf-8")
        return None


def _reshaped(response: HttpResponse) -> JsonResponse:
    code, message = error_for_status(response.status_code)
    content_type = response.get("Content-Type", "")
    if content_type.startswith("text/plain") and not response.streaming:
        text = response.content.decode(response.charset or "utf-8", "replace").strip()
        if 0 < len(text) <= 500:
            message = text
    reshaped = JsonResponse(error_body(code, message), status=response.status_code)
    for header, value in response.items():
        if header.lower() not in ("content-type", "content-length"):
            reshaped[header] = value
    reshaped.cookies = response.cookies
    response.close()
    return reshaped


class RequestGuardMiddleware:
    """Refuses before any view (or CSRF check) runs: TRACE and CONNECT (405), JSON bodies
    nested deeper than apps.core.parsers allows (400; allauth's headless views parse
    request.body with a bare json.loads, which would raise RecursionError), and such bodies
    over DATA_UPLOAD_MAX_MEMORY_SIZE (413). Reading the body here also makes DRF parse the
    size-checked copy rather than the raw stream."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method in REFUSED_METHODS:
            return HttpResponseNotAllowed(SERVED_METHODS)
        if _body_may_be_parsed_as_json(request):
            try:
                body = request.body
            except RequestDataTooBig as exc:
                security_logger.warning("%s: %s", exc, request.path)
                return error_response(request_too_large())
            if json_depth_exceeds(body):
                return JsonResponse(error_body("parse_error", str(JSONTooDeepError())),
                                    status=400)
        return self.get_response(request)


def _body_may_be_parsed_as_json(request: HttpRequest) -> bool:
    if request.path.startswith("/_allauth/"):
        return request.method != "GET"  # allauth json.loads any non-GET body
    content_type = (request.content_type or "").lower()
    if content_type == "application/json" or content_type.endswith("+json"):
        return True
    # The event ingest takes JSON as text/plain (navigator.sendBeacon).
    return content_type == "text/plain" and request.path.startswith("/api/")
