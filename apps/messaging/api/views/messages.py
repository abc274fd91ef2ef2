"""Messages: pages and resume, send, edit, unsend, delete for me, reactions."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.accounts.api.request import require_no_fields, user_of
from apps.core.errors import ApplicationError
from apps.core.throttles import (
    MessageSendDailyThrottle,
    MessageSendThrottle,
)
from apps.messaging import policy, selectors, services
from apps.messaging.api.serializers import (
    SEND_KIND_CHOICES,
    MessageSerializer,
    SentMessageSerializer,
    message_payloads,
)
from apps.messaging.api.views._common import (
    CONVERSATION_ID,
    LIMIT,
    MESSAGE_ID,
    TAGS,
    _IdField,
    _query_int,
    _TextField,
    _valid,
    errors,
)
from apps.messaging.models import Message
from apps.messaging.services._common import BODY_MAX, CLIENT_ID_MAX, EMOJI_MAX


@extend_schema_serializer(component_name="DirectMessagePage")
class MessagePageSerializer(serializers.Serializer[Any]):
    results = MessageSerializer(many=True)
    next_before = serializers.IntegerField(
        allow_null=True, help_text="Pass as `before` for older messages; null: the start.")
    next_after = serializers.IntegerField(
        allow_null=True, help_text="With `after`: pass as `after` for more changes; null: "
                                   "up to date.")


class MessagesApi(APIView):
    permission_classes = [IsAuthenticated]

    def get_throttles(self) -> list[BaseThrottle]:
        if self.request.method == "POST":  # sends have budgets of their own
            return [MessageSendThrottle(), MessageSendDailyThrottle()]
        return super().get_throttles()

    @extend_schema_serializer(component_name="DirectMessageSend")
    class InputSerializer(serializers.Serializer[Any]):
        client_id = _TextField(
            max_length=CLIENT_ID_MAX,
            help_text="Your id for the message (a UUID): a retry with it sends nothing new.")
        kind = serializers.ChoiceField(choices=SEND_KIND_CHOICES, default=Message.Kind.TEXT)
        body = _TextField(required=False, allow_blank=True, max_length=BODY_MAX,
                          trim_whitespace=False)
        shared_post_id = _IdField(required=False, allow_null=True, help_text="kind post.")
        shared_user_id = _IdField(required=False, allow_null=True, help_text="kind profile.")
        asset_id = _IdField(required=False, allow_null=True,
                            help_text="kind media: your upload; it waits for its checks.")
        reply_to_id = _IdField(required=False, allow_null=True)

    @extend_schema(
        operation_id="conversations_messages_list", summary="Messages, or changes since",
        description="Without `after`: newest first, `before` a seq to scroll up (your own "
                    "messages waiting for their checks come first on the first page). With "
                    "`after` (a change_seq): every message changed since, oldest change "
                    "first — what a client that reconnects missed.",
        parameters=[CONVERSATION_ID,
                    OpenApiParameter("before", OpenApiTypes.INT, OpenApiParameter.QUERY),
                    OpenApiParameter("after", OpenApiTypes.INT, OpenApiParameter.QUERY),
                    LIMIT],
        responses={200: MessagePageSerializer, **errors(400, 401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, conversation_id: str) -> Response:
        user = user_of(request)
        me = selectors.participant_for(user, conversation_id)
        before = _query_int(request, "before", minimum=1)
        after = _query_int(request, "after")
        if before is not None and after is not None:
            raise ApplicationError("Give before or after, not both.",
                                   fields={"after": ["Not with before."]})
        limit = _query_int(request, "limit", default=30, minimum=1) or 30
        limit = min(limit, selectors.MAX_PAGE)
        page = selectors.messages_for(me, before_seq=before, after_change_seq=after,
                                      limit=limit)
        full = len(page) == limit
        body: dict[str, Any] = {"results": message_payloads(user, page),
                                "next_before": None, "next_after": None}
        if after is not None:
            body["next_after"] = page[-1].change_seq if full and page else None
        else:
            seqs = [m.seq for m in page if m.seq is not None]
            body["next_before"] = min(seqs) if full and seqs and min(seqs) > 1 else None
        return Response(body)

    @extend_schema(
        operation_id="conversations_messages_create", summary="Send a message",
        description="201 with the new message; 200 with the first one when `client_id` was "
                    "sent before (a retry).",
        parameters=[CONVERSATION_ID], request=InputSerializer,
        responses={200: SentMessageSerializer, 201: SentMessageSerializer,
                   **errors(400, 401, 403, 404, 429)}, tags=TAGS)
    def post(self, request: Request, conversation_id: str) -> Response:
        user = user_of(request)
        selectors.participant_for(user, conversation_id)
        data = _valid(self.InputSerializer, request)
        message, created = services.send_message(
            user, conversation_id, client_id=data["client_id"], kind=data["kind"],
            body=data.get("body", ""), shared_post_id=data.get("shared_post_id"),
            shared_user_id=data.get("shared_user_id"), asset_id=data.get("asset_id"),
            reply_to_id=data.get("reply_to_id"))
        [payload] = message_payloads(user, [message])
        payload["support"] = policy.support_for(user, message.body)
        return Response(payload, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MessageApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="DirectMessageEdit")
    class InputSerializer(serializers.Serializer[Any]):
        body = _TextField(max_length=BODY_MAX, trim_whitespace=False)

    @extend_schema(operation_id="conversations_messages_retrieve", summary="One message",
                   parameters=[CONVERSATION_ID, MESSAGE_ID],
                   responses={200: MessageSerializer, **errors(401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, conversation_id: str, message_id: str) -> Response:
        user = user_of(request)
        me = selectors.participant_for(user, conversation_id)
        [payload] = message_payloads(user, [selectors.message_for(me, message_id)])
        return Response(payload)

    @extend_schema(operation_id="conversations_messages_update",
                   summary="Edit your text message (within 15 minutes)",
                   parameters=[CONVERSATION_ID, MESSAGE_ID], request=InputSerializer,
                   responses={200: MessageSerializer, **errors(400, 401, 403, 404, 429)},
                   tags=TAGS)
    def patch(self, request: Request, conversation_id: str, message_id: str) -> Response:
        user = user_of(request)
        selectors.participant_for(user, conversation_id)
        data = _valid(self.InputSerializer, request)
        message = services.edit_message(user, conversation_id, message_id, body=data["body"])
        [payload] = message_payloads(user, [message])
        return Response(payload)

    @extend_schema(operation_id="conversations_messages_destroy",
                   summary="Unsend your message (delete for everyone)",
                   parameters=[CONVERSATION_ID, MESSAGE_ID],
                   # 400: our moderators removed it already (its appeal may restore it)
                   responses={200: MessageSerializer, **errors(400, 401, 403, 404, 429)},
                   tags=TAGS)
    def delete(self, request: Request, conversation_id: str, message_id: str) -> Response:
        user = user_of(request)
        message = services.unsend_message(user, conversation_id, message_id)
        [payload] = message_payloads(user, [message])
        return Response(payload)


class MessageHideApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="conversations_messages_hide",
                   summary="Delete a message for you only",
                   parameters=[CONVERSATION_ID, MESSAGE_ID], request=None,
                   responses={204: None, **errors(400, 401, 404, 429)}, tags=TAGS)
    def post(self, request: Request, conversation_id: str, message_id: str) -> Response:
        user = user_of(request)
        selectors.participant_for(user, conversation_id)
        require_no_fields(request)
        services.hide_message(user, conversation_id, message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ReactionApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="DirectMessageReaction")
    class InputSerializer(serializers.Serializer[Any]):
        emoji = _TextField(max_length=EMOJI_MAX)

    @extend_schema(operation_id="conversations_messages_react",
                   summary="React (replaces your reaction)",
                   parameters=[CONVERSATION_ID, MESSAGE_ID], request=InputSerializer,
                   responses={200: MessageSerializer, **errors(400, 401, 404, 429)}, tags=TAGS)
    def put(self, request: Request, conversation_id: str, message_id: str) -> Response:
        user = user_of(request)
        selectors.participant_for(user, conversation_id)
        data = _valid(self.InputSerializer, request)
        message = services.react(user, conversation_id, message_id, emoji=data["emoji"])
        [payload] = message_payloads(user, [message])
        return Response(payload)

    @extend_schema(operation_id="conversations_messages_unreact",
                   summary="Take your reaction back", parameters=[CONVERSATION_ID, MESSAGE_ID],
                   responses={200: MessageSerializer, **errors(401, 404, 429)}, tags=TAGS)
    def delete(self, request: Request, conversation_id: str, message_id: str) -> Response:
        user = user_of(request)
        message = services.unreact(user, conversation_id, message_id)
        [payload] = message_payloads(user, [message])
        return Response(payload)
