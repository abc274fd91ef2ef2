"""The direct messages API for the mobile and web clients: conversations (list by folder,
start, detail, rename), members, messages (pages, send, edit, unsend, delete for me,
reactions), read state, requests and each member's own flags; settings and the unread
badge. Thin views over `selectors` and `services`: every conversation endpoint goes
through `selectors.participant_for` (a 404 for anyone who is not an active member)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
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
from apps.core.api.schema import ErrorDocs
from apps.core.errors import ApplicationError
from apps.core.throttles import (
    ConversationStartThrottle,
    MessageSendDailyThrottle,
    MessageSendThrottle,
)
from apps.messaging import selectors, services
from apps.messaging.api.serializers import (
    SEND_KIND_CHOICES,
    ConversationSerializer,
    MessageSerializer,
    UserCardSerializer,
    conversation_payloads,
    message_payloads,
    user_card,
)
from apps.messaging.models import Conversation, Message, MessagingSettings, Participant
from apps.messaging.services._common import BODY_MAX, CLIENT_ID_MAX, EMOJI_MAX, GROUP_NAME_MAX

errors = ErrorDocs({
    400: "Invalid input (malformed JSON, wrong types, too long, bad cursor), or a rule of "
         "the conversation (not a group, already a member, last admin).",
    403: "Refused, with words to show: the other person's settings, blocks, age rules, an "
         "unanswered request's limit, a message that looks abusive or like spam, not your "
         "message, the edit window closed, not an admin.",
    404: "No such conversation (or you are not in it), message, user, post or upload.",
    429: "Throttled, or the same text sent to many people.",
})
TAGS = ["messages"]
FOREVER = datetime(9999, 12, 31, tzinfo=UTC)

CONVERSATION_ID = OpenApiParameter("conversation_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                   description="The conversation's id (a string).")
MESSAGE_ID = OpenApiParameter("message_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                              description="The message's id (a string).")
USER_ID = OpenApiParameter("user_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The member's user id (a string).")
LIMIT = OpenApiParameter("limit", OpenApiTypes.INT, OpenApiParameter.QUERY,
                         description=f"Page size, 1 to {selectors.MAX_PAGE} (default 30).")


def _valid(serializer_class: type[serializers.Serializer[Any]], request: Request
           ) -> dict[str, Any]:
    data = serializer_class(data=request.data if request.data is not None else {})
    data.is_valid(raise_exception=True)
    return dict(data.validated_data)


def _query_int(request: Request, name: str, *, default: int | None = None,
               minimum: int = 0) -> int | None:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18) or int(raw) < minimum:
        raise ApplicationError(f"{name}: A whole number of at least {minimum}.",
                               fields={name: [f"A whole number of at least {minimum}."]})
    return int(raw)


def _conversation(me: Participant) -> dict[str, Any]:
    [payload] = conversation_payloads(me.user, [me])
    return payload


def _refetch(user: Any, conversation_id: str) -> dict[str, Any]:
    return _conversation(selectors.participant_for(user, conversation_id))


class _TextField(serializers.CharField):
    """Text only: a number or a list where text belongs is a 400, not quietly made text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class _IdField(serializers.CharField):
    """A 64-bit id, as a string (an integer is taken too)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)


# --- conversations ------------------------------------------------------------------------


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
        return Response({"results": conversation_payloads(me, rows), "next": next_cursor})

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


# --- messages -------------------------------------------------------------------------------


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
        responses={200: MessageSerializer, 201: MessageSerializer,
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


# --- a member's own state --------------------------------------------------------------------


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
        user = user_of(request)
        selectors.participant_for(user, conversation_id)
        require_no_fields(request)
        services.delete_request(user, conversation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LeaveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="conversations_leave", summary="Leave a group",
                   parameters=[CONVERSATION_ID], request=None,
                   responses={204: None, **errors(400, 401, 404, 429)}, tags=TAGS)
    def post(self, request: Request, conversation_id: str) -> Response:
        user = user_of(request)
        selectors.participant_for(user, conversation_id)
        require_no_fields(request)
        services.leave(user, conversation_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


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


# --- settings and the badge --------------------------------------------------------------------


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
