"""`POST /api/v1/events`: a batch of client events into the event log.

The body is read here rather than by DRF's parsers so that a `navigator.sendBeacon` call
(content type `text/plain;charset=UTF-8`, no custom headers) is accepted like a JSON
request; such a session-cookie caller puts its CSRF token in the body (`csrf_token`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import exceptions, serializers
from rest_framework.authentication import CSRFCheck, SessionAuthentication
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.schema import error_responses
from apps.core.authentication import SessionTokenAuthentication
from apps.core.errors import ApplicationError, TooLargeError
from apps.core.parsers import JSONTooDeepError, loads_json
from apps.core.throttles import PerCallerThrottle
from apps.events import devices, schema, services

ENVELOPE_KEYS = frozenset({"events", "csrf_token"})
ACCEPTED_CONTENT_TYPES = ("application/json", "text/plain")
_BODY_ATTR = "_swipeme_events_envelope"


class UnsupportedMediaTypeError(ApplicationError):
    status_code = 415
    code = "unsupported_media_type"


def load_envelope(request: HttpRequest) -> dict[str, Any]:
    """The request body as a JSON object (parsed once per request, cached on it);
    ApplicationError (400/413/415) when it is not one."""
    cached = getattr(request, _BODY_ATTR, None)
    if isinstance(cached, ApplicationError):
        raise cached
    if cached is not None:
        return dict(cached)
    try:
        envelope = _parse(request)
    except ApplicationError as exc:
        setattr(request, _BODY_ATTR, exc)
        raise
    setattr(request, _BODY_ATTR, envelope)
    return envelope


def _parse(request: HttpRequest) -> dict[str, Any]:
    content_type = (request.content_type or "").lower()
    if content_type not in ACCEPTED_CONTENT_TYPES:
        raise UnsupportedMediaTypeError(
            "Send JSON as application/json or text/plain (sendBeacon).")
    try:
        body = request.body
    except RequestDataTooBig as exc:
        raise TooLargeError("The batch is too large.") from exc
    try:
        envelope = loads_json(body)
    except JSONTooDeepError as exc:
        raise ApplicationError(str(exc), code="parse_error") from exc
    except ValueError as exc:
        raise ApplicationError("The body is not valid JSON.", code="parse_error") from exc
    if not isinstance(envelope, dict):
        raise ApplicationError("The body must be a JSON object.",
                               fields={"non_field_errors": ["Expected an object."]})
    return envelope


class BeaconSessionAuthentication(SessionAuthentication):
    """Session-cookie authentication whose CSRF token may also come from the JSON body's
    `csrf_token` (sendBeacon cannot set `X-CSRFToken`). Checked exactly as Django's CSRF
    middleware checks the header (origin, cookie, masked token)."""

    def enforce_csrf(self, request: Request) -> None:
        # The check runs on Django's request, not DRF's: DRF's `request.POST` would run the
        # DRF parsers on the body (and refuse text/plain) before the view reads it.
        django_request = request._request
        header = settings.CSRF_HEADER_NAME
        if not django_request.META.get(header):
            try:
                token = load_envelope(django_request).get("csrf_token")
            except ApplicationError:
                token = None
            if isinstance(token, str) and token:
                django_request.META[header] = token
        check = CSRFCheck(lambda _request: None)  # type: ignore[arg-type,return-value]
        check.process_request(django_request)
        reason = check.process_view(django_request, None, (), {})  # type: ignore[arg-type]
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


class BeaconSessionScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call,misc]
    target_class = "apps.events.api.views.BeaconSessionAuthentication"
    name = "beaconCookieAuth"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "The web session cookie; the CSRF token goes in X-CSRFToken "
                               "or, for navigator.sendBeacon, in the body's csrf_token."}


class EventsThrottle(PerCallerThrottle):
    """Its own budget: clients send events in bursts (every swipe), far above the write
    budget. Per user, or per IP for signed-out viewers."""

    scope = "events"

    def get_rate(self) -> str:
        return str(settings.EVENTS_THROTTLE_RATE)


@extend_schema_serializer(component_name="ClientEvent")
class EventInputSerializer(serializers.Serializer[Any]):
    """Documentation only: events are validated one by one by apps.events.schema."""

    id = serializers.CharField(min_length=1, max_length=schema.MAX_ID_LENGTH,
                               help_text="The client's id for this event (dedupe key).")
    type = serializers.ChoiceField(choices=list(schema.CLIENT_EVENT_TYPES))
    ts = serializers.IntegerField(help_text="When it happened, epoch milliseconds.")
    session_id = serializers.CharField(min_length=1, max_length=schema.MAX_ID_LENGTH)
    post_id = serializers.CharField(allow_null=True, help_text="A post id (string); null "
                                    "only for follow, unfollow, report, qoe, "
                                    "search and search_click.")
    data = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text="By type: watch_progress/watch_end {watched_ms, duration_ms, loops, "
                  "position_ms}; skip {watched_ms, duration_ms}; play_start {source "
                  "(for_you|following|profile|search|share|sound|hashtag|other)}; "
                  "follow/unfollow {creator_id}; qoe "
                  "{ttff_ms, rebuffer_count, rebuffer_ms, bitrate_kbps, rendition_switches, "
                  "error, network_type}; search {search_id, query (<=200), tab, "
                  "result_count}; search_click {search_id, tab, position (0-999), "
                  "result_type (account|video|sound|hashtag), result_id}; others {}.")


@extend_schema_serializer(component_name="EventBatchInput")
class BatchInputSerializer(serializers.Serializer[Any]):
    events = EventInputSerializer(many=True,  # type: ignore[call-arg]
                                  max_length=schema.MAX_EVENTS_PER_BATCH)
    csrf_token = serializers.CharField(
        required=False, help_text="For session-cookie callers that cannot send X-CSRFToken "
                                  "(navigator.sendBeacon).")


class RejectedErrorSerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()))


class RejectedSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    id = serializers.CharField(allow_null=True)
    error = RejectedErrorSerializer()


@extend_schema_serializer(component_name="EventBatchResult")
class BatchResultSerializer(serializers.Serializer[Any]):
    accepted = serializers.IntegerField()
    duplicates = serializers.IntegerField()
    dropped = serializers.IntegerField(
        help_text="Valid events about a post you may not see (private, a draft, removed, or "
                  "no such post): not kept.")
    rejected = RejectedSerializer(many=True)


def _client_info(request: Request, user_id: int | None) -> dict[str, str]:
    info = {"ua": request.META.get("HTTP_USER_AGENT", "")[:256],
            "auth": "anon" if user_id is None else
            ("token" if request.META.get("HTTP_X_SESSION_TOKEN") else "session")}
    version = request.META.get("HTTP_X_APP_VERSION", "")
    if version:
        info["app_version"] = version[:32]
    # the visitor's unit in experiments (`d:<device id>`): the lake joins events to it
    device = devices.request_device_id(request._request)
    if device:
        info["device_id"] = device
    return info


class EventsApi(APIView):
    authentication_classes = [SessionTokenAuthentication, BeaconSessionAuthentication]
    permission_classes = [AllowAny]
    throttle_classes = [EventsThrottle]

    @extend_schema(
        operation_id="events_create",
        summary="Send a batch of client events (telemetry)",
        description="Up to 500 events. Each bad event is reported in `rejected` with its "
                    "index; the good ones are kept. Duplicates (same client event id from "
                    "the same user, or session for signed-out viewers) are dropped and "
                    "counted in `duplicates`; events about posts you may not see are "
                    "dropped and counted in `dropped`. Accepts `text/plain` bodies "
                    "(sendBeacon) as well as JSON. "
                    "Events are telemetry: a `like` event does not like the post.",
        request=BatchInputSerializer,
        responses={200: BatchResultSerializer,
                   **error_responses(400, 401, 403, 413, 415, 429, 503,
                                     descriptions={403: "CSRF token missing or wrong "
                                                        "(session-cookie callers).",
                                                   503: "The event log is unavailable "
                                                        "and its PostgreSQL spool is full "
                                                        "(otherwise the batch is spooled "
                                                        "and accepted); retry the same "
                                                        "batch later."})},
        tags=["events"],
    )
    def post(self, request: Request) -> Response:
        envelope = load_envelope(request._request)
        unknown = sorted(str(k)[:64] for k in envelope if k not in ENVELOPE_KEYS)
        if unknown:
            raise ApplicationError(f"Unknown field: {unknown[0]}.",
                                   fields={k: ["Unknown field."] for k in unknown})
        events = envelope.get("events")
        if not isinstance(events, list):
            raise ApplicationError("events: Expected a list of events.",
                                   fields={"events": ["Expected a list of events."]})
        if len(events) > schema.MAX_EVENTS_PER_BATCH:
            message = f"At most {schema.MAX_EVENTS_PER_BATCH} events per batch."
            raise ApplicationError(f"events: {message}", fields={"events": [message]})
        user = request.user
        user_id = int(user.pk) if user and user.is_authenticated else None
        result = services.events_ingest(user_id=user_id, viewer=user, events=events,
                                        client=_client_info(request, user_id))
        return Response({
            "accepted": result.accepted,
            "duplicates": result.duplicates,
            "dropped": result.dropped,
            "rejected": [
                {"index": r.index, "id": r.id,
                 "error": {"code": r.code, "message": r.message, "fields": r.fields}}
                for r in result.rejected
            ],
        })
