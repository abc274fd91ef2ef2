from __future__ import annotations

import hmac

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django_prometheus.exports import ExportToDjangoView

from apps.core import health
from apps.core.errors import error_body
from apps.core.middleware import is_api_path


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


@never_cache
def readyz(request: HttpRequest) -> JsonResponse:
    db_ok, db_msg = health.check_database()
    redis_ok, redis_msg = health.check_redis()
    storage_ok, storage_msg = health.check_storage()
    workers: dict[str, object]
    if redis_ok:
        workers_ok, worker_ages = health.check_workers()
        workers = {"ok": workers_ok, "heartbeat_age_seconds": worker_ages}
        ready = db_ok and storage_ok and workers_ok
        status = "ready" if ready else "not_ready"
    else:  # degraded: serving without Redis; worker heartbeats are unknown (see health)
        workers = {"ok": None, "heartbeat_age_seconds": None}
        ready = db_ok and storage_ok
        status = "degraded" if ready else "not_ready"
    # Informational: a backlog or a stale beat costs freshness, not readiness (200).
    backlogs_ok, backlogs = health.check_backlogs() if db_ok else (True, {})
    beat_ok, beat_msg = health.check_beat() if redis_ok else (True, "unknown")
    if status == "ready" and not (backlogs_ok and beat_ok):
        status = "degraded"
    body = {
        "status": status,
        "checks": {
            "database": db_msg,
            "redis": redis_msg,
            "redis_breaker": health.redis_breaker_state(),
            "storage": storage_msg,
            "workers": workers,
            "beat": beat_msg,
            **backlogs,
        },
    }
    return JsonResponse(body, status=200 if ready else 503)


@never_cache
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus exposition; behind a bearer token when SWIPEME_METRICS_TOKEN is set."""
    token = settings.METRICS_TOKEN
    if token:
        given = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if not hmac.compare_digest(given, token):
            return JsonResponse(
                error_body("not_authenticated", "Metrics token required."), status=401
            )
    response: HttpResponse = ExportToDjangoView(request)
    return response


def api_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(error_body("not_found", "Not found."), status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception or Exception("not found"))


def api_server_error(request: HttpRequest) -> HttpResponse:
    if is_api_path(request.path):
        return JsonResponse(
            error_body("server_error", "Something went wrong on our side; it has been logged."),
            status=500,
        )
    from django.views.defaults import server_error

    return server_error(request)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """CSRF_FAILURE_VIEW: API clients (allauth's browser client) are told why in JSON,
    in the words DRF's SessionAuthentication uses."""
    if is_api_path(request.path):
        return JsonResponse(
            error_body("permission_denied", f"CSRF Failed: {reason}"),
            status=403,
        )
    from django.views.csrf import csrf_failure as django_csrf_failure

    return django_csrf_failure(request, reason=reason)
