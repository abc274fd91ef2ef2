"""`POST /api/v1/payments/webhooks/<provider>`: the payment providers' webhooks.

No session, no CSRF: the request is authenticated by its signature alone (Stripe's scheme,
checked with the official library), over the raw body as sent. Not throttled per caller:
a provider's retries arrive in bursts from a few addresses, and a refused request costs one
HMAC. Anything forged, stale or malformed gets 400 in the error shape and changes nothing;
the same event twice is processed once (services.webhooks)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core.api.schema import ErrorDocs
from apps.core.errors import TooLargeError
from apps.payments.services.webhooks import receive_webhook

errors = ErrorDocs({
    400: "Refused: no or bad signature, a stale (replayed) signature, or a body that is "
         "not an event. Nothing was recorded.",
    404: "No such provider, or its webhooks are not configured.",
    413: "The body is too large.",
    503: "The event names a payment not known yet; the provider should deliver it again.",
})


class PaymentWebhookApi(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]
    throttle_classes: list[Any] = []
    parser_classes: list[Any] = []  # the signature is over the raw body: read it untouched

    @extend_schema(
        operation_id="payments_webhook",
        summary="A payment provider's webhook (signed)",
        description=(
            "For the payment providers, not for clients. `stripe`: `Stripe-Signature`; "
            "`local` (the local test provider): `SwipeMe-Local-Signature`, same scheme "
            "(`t=<unix time>,v1=<hex HMAC-SHA256 of \"t.body\">`). Answers 200 for an "
            "event processed now or before (`duplicate`), or recorded and ignored."),
        parameters=[OpenApiParameter("provider", str, OpenApiParameter.PATH,
                                     enum=["stripe", "local"])],
        request={"application/json": OpenApiTypes.OBJECT},
        responses={200: inline_serializer("PaymentWebhookReceived", {
            "received": serializers.BooleanField(),
            "event_id": serializers.CharField(),
            "outcome": serializers.ChoiceField(
                choices=["processed", "ignored", "unknown_object"]),
        }), **errors(400, 404, 413, 503)},
        auth=[],
    )
    def post(self, request: Request, provider: str) -> Response:
        try:
            body = request._request.body
        except RequestDataTooBig as exc:
            raise TooLargeError("The webhook body is too large.") from exc
        headers = dict(request._request.headers.items())
        event = receive_webhook(provider=provider, body=body, headers=headers)
        return Response({"received": True, "event_id": event.event_id,
                         "outcome": event.outcome})
