"""Web Push subscriptions and the VAPID public key (push delivery, issue 14)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import session_key_of
from apps.accounts.models import User
from apps.core.api.schema import ErrorDocs
from apps.core.errors import NotFoundError
from apps.notifications.push import services, vapid
from apps.notifications.push.endpoints import MAX_ENDPOINT_LENGTH, endpoint_refusal

errors = ErrorDocs({404: "Web Push is not configured on this server."})


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


class _KeysSerializer(serializers.Serializer[Any]):
    p256dh = serializers.CharField(max_length=100,
                                   help_text="The browser's P-256 public key, base64url.")
    auth = serializers.CharField(max_length=32, help_text="The 16-byte auth secret, base64url.")

    def validate_p256dh(self, value: str) -> str:
        refusal = services.p256dh_refusal(value)
        if refusal:
            raise serializers.ValidationError(refusal)
        return value

    def validate_auth(self, value: str) -> str:
        refusal = services.auth_refusal(value)
        if refusal:
            raise serializers.ValidationError(refusal)
        return value


def _valid_endpoint(value: str) -> str:
    refusal = endpoint_refusal(value)
    if refusal:
        raise serializers.ValidationError(refusal)
    return value


class WebPushSubscriptionsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="WebPushSubscriptionInput")
    class InputSerializer(serializers.Serializer[Any]):
        """`PushSubscription.toJSON()` as the browser gives it."""

        endpoint = serializers.CharField(max_length=MAX_ENDPOINT_LENGTH)
        expirationTime = serializers.IntegerField(  # noqa: N815 (the browser's name)
            required=False, allow_null=True, min_value=0)
        keys = _KeysSerializer()
        replaces = serializers.CharField(
            max_length=MAX_ENDPOINT_LENGTH, required=False, allow_blank=True,
            help_text="The endpoint of the subscription this one replaces (the service "
                      "worker's pushsubscriptionchange): deleted if it is yours.")

        def validate_endpoint(self, value: str) -> str:
            return _valid_endpoint(value)

    @extend_schema_serializer(component_name="WebPushUnsubscribeInput")
    class DeleteSerializer(serializers.Serializer[Any]):
        endpoint = serializers.CharField(max_length=MAX_ENDPOINT_LENGTH)

    @extend_schema_serializer(component_name="WebPushSubscriptionOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.CharField()
        endpoint = serializers.CharField()
        created_at = serializers.DateTimeField()

    @extend_schema(request=InputSerializer,
                   responses={201: OutputSerializer, **errors(400, 401, 429)},
                   tags=["notifications: push"],
                   description="Subscribe this browser to Web Push (the body is "
                               "`PushSubscription.toJSON()`) for as long as this session is "
                               "signed in. Subscribing an endpoint again, or from another "
                               "account, updates it; `replaces` names the endpoint this "
                               "one succeeds, which is deleted.")
    def post(self, request: Request) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        subscription = services.webpush_subscribe(
            user=_user(request), endpoint=data["endpoint"], p256dh=data["keys"]["p256dh"],
            auth=data["keys"]["auth"], session_key=session_key_of(request) or "",
            user_agent=request.headers.get("User-Agent", ""),
            replaces=data.get("replaces", ""))
        return Response(self.OutputSerializer(subscription).data,
                        status=status.HTTP_201_CREATED)

    @extend_schema(request=DeleteSerializer, responses={204: None, **errors(400, 401, 429)},
                   tags=["notifications: push"],
                   description="Unsubscribe this browser (by its endpoint); "
                               "unknown endpoints are a no-op.")
    def delete(self, request: Request) -> Response:
        serializer = self.DeleteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.webpush_unsubscribe(user=_user(request),
                                     endpoint=serializer.validated_data["endpoint"])
        return Response(status=status.HTTP_204_NO_CONTENT)


class VapidPublicKeyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="VapidPublicKeyOutput")
    class OutputSerializer(serializers.Serializer[Any]):
        public_key = serializers.CharField(
            help_text="The applicationServerKey for pushManager.subscribe (base64url).")

    @extend_schema(responses={200: OutputSerializer, **errors(401, 404)},
                   tags=["notifications: push"])
    def get(self, request: Request) -> Response:
        key = vapid.public_key_b64url()
        if key is None:
            raise NotFoundError("Web Push is not configured on this server.")
        return Response(self.OutputSerializer({"public_key": key}).data)
