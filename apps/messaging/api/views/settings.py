"""Messaging settings and the messages badge."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.messaging import selectors, services
from apps.messaging.api.views._common import (
    TAGS,
    _valid,
    errors,
)
from apps.messaging.models import MessagingSettings


@extend_schema_serializer(component_name="MessagingSettings")
class SettingsSerializer(serializers.Serializer[Any]):
    who_can_message = serializers.ChoiceField(
        choices=MessagingSettings.WhoCanMessage.choices, required=False)
    read_receipts = serializers.BooleanField(
        required=False, help_text="Whether others see when you have read their messages.")


class SettingsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_messaging_settings_retrieve",
                   summary="Who can message you; read receipts",
                   responses={200: SettingsSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response(SettingsSerializer(selectors.settings_for(user_of(request))).data)

    @extend_schema(operation_id="me_messaging_settings_update",
                   summary="Change your messaging settings", request=SettingsSerializer,
                   responses={200: SettingsSerializer, **errors(400, 401, 429)}, tags=TAGS)
    def patch(self, request: Request) -> Response:
        data = _valid(SettingsSerializer, request)
        row = services.update_settings(user_of(request),
                                       who_can_message=data.get("who_can_message"),
                                       read_receipts=data.get("read_receipts"))
        return Response(SettingsSerializer(row).data)


class UnreadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="MessagingUnread")
    class OutputSerializer(serializers.Serializer[Any]):
        unread = serializers.IntegerField(help_text="Unread messages in the inbox (muted "
                                                    "conversations and requests aside).")
        requests = serializers.IntegerField(help_text="Conversations in Requests.")

    @extend_schema(operation_id="messaging_unread", summary="The messages badge",
                   responses={200: OutputSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        user = user_of(request)
        return Response({"unread": selectors.unread_total(user),
                         "requests": selectors.requests_count(user)})
