"""The measurement API: `POST /api/v1/ads/events` (the web and app clients report what a
viewer saw of a served ad) and `POST /api/v1/ads/conversions` (advertisers' servers report
conversions with their org's API key). Thin: parse, call `apps.ads.measurement`, answer."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import AllowAny, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.ads.measurement import conversions
from apps.ads.measurement.events import CLIENT_KINDS, Caller, ad_event_record
from apps.ads.models.measurement import ConversionApiKey, ConversionSource
from apps.core.api.schema import ErrorDocs
from apps.core.errors import ApplicationError
from apps.core.throttles import PerCallerThrottle

errors = ErrorDocs(
    {
        400: "Invalid input: an unknown event, or a token that is not a served ad's (changed, "
        "cut, or older than a day).",
        401: "No API key, or not a live key (conversions).",
        404: "The ad no longer exists.",
    }
)
MAX_CONVERSIONS = 100


def caller_of(request: Request) -> Caller:
    user: Any = request.user
    return Caller(
        user_id=user.pk if user and user.is_authenticated else None,
        user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:512],
    )


class AdEventsThrottle(PerCallerThrottle):
    """Per viewer (or IP signed out): a feed shows at most a few ads a minute."""

    scope = "ads_events"

    def get_rate(self) -> str:
        return str(settings.SWIPEME_THROTTLE_ADS_EVENTS)


class AdEventInSerializer(serializers.Serializer[Any]):
    token = serializers.CharField(
        max_length=1024, help_text="The served ad's token, as the feed gave it (`ad.token`)."
    )
    event = serializers.ChoiceField(
        choices=[k.value for k in CLIENT_KINDS],
        help_text="impression: at least half of the ad on screen for 1 s; view_2s / view_6s: "
        "2 s / 6 s of it played; completion: played to its end once. Clicks go "
        "through the ad's click URL instead.",
    )


class AdEventOutSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(
        choices=["recorded"], help_text="Recorded (whether it counts is not said)."
    )


class AdEventsApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes = [AdEventsThrottle]

    @extend_schema(
        operation_id="ads_events_create",
        summary="Report what a viewer saw of a served ad",
        description="Only the token is trusted: it names the ad, the auction and the viewer. "
        "Each token counts each event once; invalid traffic is recorded but not "
        "counted or billed.",
        request=AdEventInSerializer,
        responses={200: AdEventOutSerializer, **errors(400, 401, 403, 404, 429)},
        tags=["ads"],
    )
    def post(self, request: Request) -> Response:
        data = AdEventInSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        ad_event_record(
            token=data.validated_data["token"],
            kind=data.validated_data["event"],
            caller=caller_of(request),
        )
        return Response({"status": "recorded"})


# --- the conversions API -------------------------------------------------------------------


class ConversionKeyAuthentication(BaseAuthentication):
    """`Authorization: Bearer swpk_...`: the org's conversions API key."""

    def authenticate(self, request: Request) -> tuple[Any, ConversionApiKey] | None:
        header = str(request.META.get("HTTP_AUTHORIZATION", ""))
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise exceptions.AuthenticationFailed("Send the key as Authorization: Bearer <key>.")
        key = conversions.conversion_key_check(secret.strip())
        if key is None:
            raise exceptions.AuthenticationFailed("This API key is not valid or was revoked.")
        from django.contrib.auth.models import AnonymousUser

        return AnonymousUser(), key

    def authenticate_header(self, request: Request) -> str:
        return 'Bearer realm="conversions"'


class ConversionKeyScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call,misc]
    target_class = "apps.ads.api.views.ConversionKeyAuthentication"
    name = "conversionsApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An advertiser org's conversions API key (swpk_...), made in "
            "the advertiser portal.",
        }


class HasConversionKey(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if not isinstance(request.auth, ConversionApiKey):
            raise exceptions.NotAuthenticated(
                "Send the org's API key: Authorization: Bearer <key>."
            )
        return True


class ConversionsThrottle(PerCallerThrottle):
    scope = "ads_conversions"

    def get_rate(self) -> str:
        return str(settings.SWIPEME_THROTTLE_ADS_CONVERSIONS)

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        key = request.auth
        ident = f"k{key.pk}" if isinstance(key, ConversionApiKey) else self.get_ident(request)
        return self.cache_format % {"scope": self.scope, "ident": ident}


class ConversionInSerializer(serializers.Serializer[Any]):
    event_id = serializers.CharField(
        max_length=100,
        help_text="Your id of this conversion: "
        "the same id again (from here or the pixel) counts once.",
    )
    event = serializers.CharField(max_length=40, help_text="purchase, sign_up, ...")
    occurred_at = serializers.CharField(
        required=False, help_text="ISO 8601 with a zone; within the last 7 days. Default: now."
    )
    click_id = serializers.CharField(
        required=False, max_length=32, help_text="The swpclid parameter of the landing URL."
    )
    email_sha256 = serializers.CharField(
        required=False, max_length=64, help_text="SHA-256 (hex) of the lower-cased e-mail."
    )
    value_micros = serializers.IntegerField(required=False, min_value=0)


class ConversionsInSerializer(serializers.Serializer[Any]):
    conversions = ConversionInSerializer(many=True)  # type: ignore[call-arg]


class ConversionResultSerializer(serializers.Serializer[Any]):
    index = serializers.IntegerField()
    event_id = serializers.CharField(allow_null=True)
    status = serializers.ChoiceField(choices=["recorded", "duplicate", "rejected"])
    attribution = serializers.ChoiceField(choices=["click", "view", "none"], allow_null=True)
    error = serializers.DictField(allow_null=True)  # type: ignore[assignment]


class ConversionsOutSerializer(serializers.Serializer[Any]):
    results = ConversionResultSerializer(many=True)


class ConversionsApi(APIView):
    authentication_classes = [ConversionKeyAuthentication]
    permission_classes = [HasConversionKey]
    throttle_classes = [ConversionsThrottle]

    @extend_schema(
        operation_id="ads_conversions_create",
        summary="Report conversions (server to server)",
        description=f"Up to {MAX_CONVERSIONS} conversions. Each is kept once per event id "
        "(a repeat is a duplicate) and attributed to the last click on your ads "
        "within the click window, else the last impression within the view "
        "window. A bad conversion is rejected on its own, with its index.",
        request=ConversionsInSerializer,
        responses={200: ConversionsOutSerializer, **errors(400, 401, 429)},
        tags=["ads"],
    )
    def post(self, request: Request) -> Response:
        key = request.auth
        assert isinstance(key, ConversionApiKey)  # HasConversionKey
        body = request.data
        items = body.get("conversions") if isinstance(body, dict) else None
        if not isinstance(items, list) or not items:
            raise ApplicationError(
                'Send {"conversions": [...]}.', fields={"conversions": ["A non-empty list."]}
            )
        if len(items) > MAX_CONVERSIONS:
            raise ApplicationError(
                f"At most {MAX_CONVERSIONS} conversions per request.",
                fields={"conversions": [f"At most {MAX_CONVERSIONS}."]},
            )
        now = timezone.now()
        results = []
        for index, raw in enumerate(items):
            event_id = raw.get("event_id") if isinstance(raw, dict) else None
            shown_id = event_id if isinstance(event_id, str) else None
            try:
                if not isinstance(raw, dict):
                    raise ApplicationError("A conversion is an object.")
                clean = conversions.conversion_clean(raw, now=now)
            except ApplicationError as exc:
                results.append(
                    {
                        "index": index,
                        "event_id": shown_id,
                        "status": "rejected",
                        "attribution": None,
                        "error": {"code": exc.code, "message": exc.message, "fields": exc.fields},
                    }
                )
                continue
            done = conversions.conversion_record(
                org_id=key.org_id, conversion=clean, source=ConversionSource.API
            )
            results.append(
                {
                    "index": index,
                    "event_id": clean.event_id,
                    "status": "duplicate" if done.duplicate else "recorded",
                    "attribution": done.conversion.attribution,
                    "error": None,
                }
            )
        type(key).objects.filter(pk=key.pk).update(last_used_at=now)
        return Response({"results": results})
