"""A member's own view of a conversation: read up to a message, requests (accept,
decline), leave, clear, mute, pin, archive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import require_no_fields, user_of
from apps.messaging import selectors, services
from apps.messaging.api.serializers import (
    ConversationSerializer,
)
from apps.messaging.api.views._common import (
    CONVERSATION_ID,
    FOREVER,
    TAGS,
    _refetch,
    _valid,
    errors,
)


class ReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ConversationRead")
    class InputSerializer(serializers.Serializer[Any]):
        seq = serializers.IntegerField(min_value=0, max_value=2**62,
                                       help_text="The last seq you have seen.")

    @extend_schema(operation_id="conversations_read", summary="Mark read up to a seq",
                   parameters=[CONVERSATION_ID], request=InputSerializer,
                   responses={200: ConversationSerializer, **errors(400, 401, 404, 429)},
                   tags=TAGS)
    def post(self, request: Request, conversation_id: str) -> Response:
        me = selectors.participant_for(user_of(request), conversation_id)
        data = _valid(self.InputSerializer, request)
        services.mark_read(me, data["seq"])
        return Response(_refetch(me.user, conversation_id))


def _own_change(request: Request, conversation_id: str, change: Callable[..., object],
                **options: Any) -> Response:
    """A member changes their own view of the conversation (a body-less call): the access
    rule, no fields, `change(user, conversation_id, **options)`, the conversation as it
    is now."""
    user = user_of(request)
    selectors.participant_for(user, conversation_id)
    require_no_fields(request)
    change(user, conversation_id, **options)
    return Response(_refetch(user, conversation_id))


def _own_exit(request: Request, conversation_id: str,
              change: Callable[[Any, str], object]) -> Response:
    """A body-less call after which the member no longer sees the conversation (decline a
    request, leave): the access rule, no fields, the change, nothing to return."""
    user = user_of(request)
    selectors.participant_for(user, conversation_id)
    require_no_fields(request)
    change(user, conversation_id)
    return Response(status=status.HTTP_204_NO_CONTENT)


def _own_action(operation_id: str, summary: str, *, codes: tuple[int, ...] = (400, 401, 404, 429)
                ) -> Any:
    return extend_schema(operation_id=operation_id, summary=summary,
                         parameters=[CONVERSATION_ID], request=None,
                         responses={200: ConversationSerializer, **errors(*codes)}, tags=TAGS)


class AcceptApi(APIView):
    permission_classes = [IsAuthenticated]

    @_own_action("conversations_accept", "Accept a message request")
    def post(self, request: Request, conversation_id: str) -> Response:
        return _own_change(request, conversation_id, services.accept_request)


class DeclineApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="conversations_decline", summary="Delete a message request",
                   description="A group's request is left; a one-to-one's is cleared for you.",
                   parameters=[CONVERSATION_ID], request=None,
                   responses={204: None, **errors(400, 401, 404, 429)}, tags=TAGS)
    def post(self, request: Request, conversation_id: str) -> Response:
        return _own_exit(request, conversation_id, services.delete_request)


class LeaveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="conversations_leave", summary="Leave a group",
                   parameters=[CONVERSATION_ID], request=None,
                   responses={204: None, **errors(400, 401, 404, 429)}, tags=TAGS)
    def post(self, request: Request, conversation_id: str) -> Response:
        return _own_exit(request, conversation_id, services.leave)


class ClearApi(APIView):
    permission_classes = [IsAuthenticated]

    @_own_action("conversations_clear", "Delete the chat for you (until the next message)")
    def post(self, request: Request, conversation_id: str) -> Response:
        return _own_change(request, conversation_id, services.clear_chat)


class MuteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ConversationMute")
    class InputSerializer(serializers.Serializer[Any]):
        until = serializers.DateTimeField(required=False, allow_null=True,
                                          help_text="Until when; absent or null: until you "
                                                    "unmute.")

    @extend_schema(operation_id="conversations_mute", summary="Mute",
                   parameters=[CONVERSATION_ID], request=InputSerializer,
                   responses={200: ConversationSerializer, **errors(400, 401, 404, 429)},
                   tags=TAGS)
    def post(self, request: Request, conversation_id: str) -> Response:
        user = user_of(request)
        selectors.participant_for(user, conversation_id)
        data = _valid(self.InputSerializer, request)
        services.set_muted(user, conversation_id, until=data.get("until") or FOREVER)
        return Response(_refetch(user, conversation_id))

    @_own_action("conversations_unmute", "Unmute", codes=(401, 404, 429))
    def delete(self, request: Request, conversation_id: str) -> Response:
        return _own_change(request, conversation_id, services.set_muted, until=None)


def _toggle_api(flag: str, change: Callable[..., object], on: tuple[str, str],
                off: tuple[str, str]) -> type[APIView]:
    """POST sets one of the member's own flags, DELETE clears it."""

    class ToggleApi(APIView):
        permission_classes = [IsAuthenticated]

        @_own_action(*on)
        def post(self, request: Request, conversation_id: str) -> Response:
            return _own_change(request, conversation_id, change, **{flag: True})

        @_own_action(*off, codes=(401, 404, 429))
        def delete(self, request: Request, conversation_id: str) -> Response:
            return _own_change(request, conversation_id, change, **{flag: False})

    return ToggleApi


PinApi = _toggle_api("pinned", services.set_pinned,
                     ("conversations_pin", "Pin to the top (up to 5)"),
                     ("conversations_unpin", "Unpin"))
ArchiveApi = _toggle_api("archived", services.set_archived,
                         ("conversations_archive", "Archive"),
                         ("conversations_unarchive", "Back to the inbox"))
