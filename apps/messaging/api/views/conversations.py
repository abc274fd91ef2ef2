"""Conversations: the list by folder, start, detail and rename, and members."""

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

from apps.accounts.api.request import user_of
from apps.core.errors import ApplicationError
from apps.core.throttles import (
    ConversationStartThrottle,
)
from apps.messaging import selectors, services
from apps.messaging.api.serializers import (
    ConversationSerializer,
    UserCardSerializer,
    inbox_payloads,
    user_card,
)
from apps.messaging.api.views._common import (
    CONVERSATION_ID,
    LIMIT,
    TAGS,
    USER_ID,
    _IdField,
    _query_int,
    _refetch,
    _TextField,
    _valid,
    errors,
)
from apps.messaging.models import Conversation, Participant
from apps.messaging.services._common import GROUP_NAME_MAX


@extend_schema_serializer(component_name="ConversationPage")
class ConversationPageSerializer(serializers.Serializer[Any]):
    results = ConversationSerializer(many=True)
    next = serializers.CharField(allow_null=True,
                                 help_text="Pass as `cursor` for the next page; null: the end.")


class ConversationListApi(APIView):
    permission_classes = [IsAuthenticated]

    def get_throttles(self) -> list[BaseThrottle]:
        extra = [ConversationStartThrottle()] if self.request.method == "POST" else []
        return [*super().get_throttles(), *extra]

    @extend_schema_serializer(component_name="ConversationCreate")
    class InputSerializer(serializers.Serializer[Any]):
        kind = serializers.ChoiceField(choices=Conversation.Kind.choices)
        user_id = _IdField(required=False, help_text="direct: the other person.")
        member_ids = serializers.ListField(
            child=_IdField(), required=False, max_length=64,
            help_text="group: the others (at most 31).")
        name = _TextField(required=False, allow_blank=True, max_length=GROUP_NAME_MAX,
                          help_text="group: its name.")

    @extend_schema(
        operation_id="conversations_list", summary="Your conversations in a folder",
        description="Pinned first (on the first page), then latest activity first.",
        parameters=[
            OpenApiParameter("folder", OpenApiTypes.STR, OpenApiParameter.QUERY,
                             enum=list(selectors.FOLDERS), description="Default: inbox."),
            OpenApiParameter("cursor", OpenApiTypes.STR, OpenApiParameter.QUERY), LIMIT],
        responses={200: ConversationPageSerializer, **errors(400, 401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        folder = request.query_params.get("folder", "inbox")
        if folder not in selectors.FOLDERS:
            raise ApplicationError("folder: One of inbox, requests, archived.",
                                   fields={"folder": ["One of inbox, requests, archived."]})
        me = user_of(request)
        rows, next_cursor = selectors.inbox_page(
            me, folder=folder,
            cursor=request.query_params.get("cursor"),
            limit=_query_int(request, "limit", default=30, minimum=1) or 30)
        return Response({"results": inbox_payloads(me, rows), "next": next_cursor})

    @extend_schema(
        operation_id="conversations_create", summary="Start a one-to-one or create a group",
        description="A one-to-one with someone you already have one with returns it (200).",
        request=InputSerializer,
        responses={200: ConversationSerializer, 201: ConversationSerializer,
                   **errors(400, 401, 403, 404, 429)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        me = user_of(request)
        data = _valid(self.InputSerializer, request)
        if data["kind"] == Conversation.Kind.DIRECT:
            if "user_id" not in data:
                raise ApplicationError("user_id: Who to write to.",
                                       fields={"user_id": ["Who to write to."]})
            [other] = services.users_by_ids([data["user_id"]])
            before = Conversation.objects.filter(
                direct_key=services.direct_key(me.pk, other.pk)).exists()
            conversation = services.start_direct(me, other)
            code = status.HTTP_200_OK if before else status.HTTP_201_CREATED
        else:
            conversation = services.create_group(me, data.get("member_ids", []),
                                                 data.get("name", ""))
            code = status.HTTP_201_CREATED
        return Response(_refetch(me, str(conversation.pk)), status=code)


class ConversationDetailApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ConversationUpdate")
    class InputSerializer(serializers.Serializer[Any]):
        name = _TextField(allow_blank=True, max_length=GROUP_NAME_MAX)

    @extend_schema(operation_id="conversations_retrieve", summary="One conversation",
                   parameters=[CONVERSATION_ID],
                   responses={200: ConversationSerializer, **errors(401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, conversation_id: str) -> Response:
        return Response(_refetch(user_of(request), conversation_id))

    @extend_schema(operation_id="conversations_update", summary="Rename a group",
                   parameters=[CONVERSATION_ID], request=InputSerializer,
                   responses={200: ConversationSerializer, **errors(400, 401, 404, 429)},
                   tags=TAGS)
    def patch(self, request: Request, conversation_id: str) -> Response:
        me = user_of(request)
        selectors.participant_for(me, conversation_id)
        data = _valid(self.InputSerializer, request)
        services.rename(me, conversation_id, data["name"])
        return Response(_refetch(me, conversation_id))


@extend_schema_serializer(component_name="ConversationMember")
class MemberSerializer(UserCardSerializer):
    role = serializers.ChoiceField(choices=Participant.Role.choices)
    last_read_seq = serializers.IntegerField(
        allow_null=True, required=False,
        help_text="How far they have read (read receipts); null when they hide receipts. "
                  "In the members list only.")


class MembersApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ConversationMembersAdd")
    class InputSerializer(serializers.Serializer[Any]):
        user_ids = serializers.ListField(child=_IdField(), min_length=1, max_length=64)

    @extend_schema(operation_id="conversations_members_list", summary="The members",
                   parameters=[CONVERSATION_ID],
                   responses={200: MemberSerializer(many=True), **errors(401, 404, 429)},
                   tags=TAGS)
    def get(self, request: Request, conversation_id: str) -> Response:
        me = selectors.participant_for(user_of(request), conversation_id)
        reads = {**selectors.read_positions(me), me.user_id: me.last_read_seq}
        return Response([dict(user_card(p.user), role=p.role,
                              last_read_seq=reads.get(p.user_id))
                         for p in selectors.members_for(me)])

    @extend_schema(operation_id="conversations_members_add", summary="Add people (admins)",
                   parameters=[CONVERSATION_ID], request=InputSerializer,
                   responses={200: MemberSerializer(many=True),
                              **errors(400, 401, 403, 404, 429)}, tags=TAGS)
    def post(self, request: Request, conversation_id: str) -> Response:
        user = user_of(request)
        selectors.participant_for(user, conversation_id)
        data = _valid(self.InputSerializer, request)
        services.add_members(user, conversation_id, data["user_ids"])
        return self.get(request, conversation_id)


class MemberApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ConversationMemberUpdate")
    class InputSerializer(serializers.Serializer[Any]):
        role = serializers.ChoiceField(choices=Participant.Role.choices)

    @extend_schema(operation_id="conversations_members_update",
                   summary="Make a member an admin or not (admins)",
                   parameters=[CONVERSATION_ID, USER_ID], request=InputSerializer,
                   responses={200: MemberSerializer, **errors(400, 401, 403, 404, 429)},
                   tags=TAGS)
    def patch(self, request: Request, conversation_id: str, user_id: str) -> Response:
        user = user_of(request)
        selectors.participant_for(user, conversation_id)
        data = _valid(self.InputSerializer, request)
        row = services.set_role(user, conversation_id, user_id, data["role"])
        return Response(dict(user_card(row.user), role=row.role))

    @extend_schema(operation_id="conversations_members_remove",
                   summary="Remove a member (admins)", parameters=[CONVERSATION_ID, USER_ID],
                   responses={204: None, **errors(400, 401, 403, 404, 429)}, tags=TAGS)
    def delete(self, request: Request, conversation_id: str, user_id: str) -> Response:
        services.remove_member(user_of(request), conversation_id, user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
