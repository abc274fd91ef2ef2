"""The live chat's API (thin: `apps.live.chat.services` does the work and asks
`live.selectors.live_for` first). The socket `ws/live/<id>/` carries the same sends and
likes; these routes serve clients without it, joiners' first read, and the host's tools."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import session_key_of, user_of
from apps.core.api.schema import ErrorDocs
from apps.core.idempotency import PARAMETER as IDEMPOTENCY_KEY
from apps.core.idempotency import idempotency_key
from apps.core.throttles import PerCallerThrottle
from apps.live.chat import selectors as chat_selectors
from apps.live.chat import services
from apps.live.models import CHAT_MAX_CHARS_CEILING, LiveModerator
from apps.live.selectors import live_for
from apps.monetization.api.coins import IdStringField, SendSerializer

TAGS = ["live"]
errors = ErrorDocs({
    400: "Invalid input: an empty or too long message, a slow mode or mute length not "
         "offered, a bad id.",
    401: "Not signed in.",
    403: "The chat said no, in words: muted, followers-only chat, links not allowed, not the "
         "host or a moderator, gifts not allowed (under 18, your own live, a block).",
    404: "No such live (or not visible to you), message or account.",
    409: "The live has ended (or is not on air, for gifts); not enough coins; the message is "
         "hidden (pins).",
    429: "Too fast: slow mode, the chat's per-person rate limit, or the API's throttle.",
})
LIVE_ID = OpenApiParameter("live_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The live's id (a string).")
MESSAGE_ID = OpenApiParameter("message_id", OpenApiTypes.STR, OpenApiParameter.PATH)
USER_ID = OpenApiParameter("user_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The account's id (a string).")


class LiveChatThrottle(PerCallerThrottle):
    """Chat sends and likes are many small writes: a budget of their own (the services
    apply the chat's finer per-live limits and slow mode)."""

    scope = "live_chat"
    rate = "300/min"


class StrictBoolean(serializers.BooleanField):
    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError("true or false.")
        return data


class AuthorSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    avatar = serializers.DictField(child=serializers.CharField())
    role = serializers.CharField(help_text='"host", "moderator" or "".')


class ChatMessageSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    live = serializers.CharField()
    text = serializers.CharField()
    created_at = serializers.DateTimeField()
    author = AuthorSerializer()
    hidden = serializers.BooleanField(help_text="Hidden from others (only its author sees "
                                                "it, and was told why).")


class ChatSettingsSerializer(serializers.Serializer[Any]):
    slow_mode_seconds = serializers.IntegerField()
    followers_only = serializers.BooleanField()
    links_allowed = serializers.BooleanField()


class YouSerializer(serializers.Serializer[Any]):
    role = serializers.CharField()
    muted_until = serializers.DateTimeField(allow_null=True)
    can_chat = serializers.BooleanField()
    refusal = serializers.CharField(help_text="Why you can't chat now, in words (or empty).")


class ChatLimitsSerializer(serializers.Serializer[Any]):
    max_chars = serializers.IntegerField(help_text="Characters in one message.")
    slow_mode_choices = serializers.ListField(child=serializers.IntegerField(),
                                              help_text="The slow-mode steps a host may pick.")
    mute_minutes = serializers.ListField(child=serializers.IntegerField(),
                                         help_text="The mute lengths a moderator may pick.")


class ChatStateSerializer(serializers.Serializer[Any]):
    live = serializers.CharField()
    settings = ChatSettingsSerializer()
    limits = ChatLimitsSerializer(help_text="The chat's limits (staff-configured).")
    pinned = ChatMessageSerializer(allow_null=True)
    messages = ChatMessageSerializer(many=True, help_text="The latest (50 by default), "
                                                          "oldest first.")
    viewers = serializers.IntegerField(help_text="Approximate viewers now.")
    likes = serializers.IntegerField()
    you = YouSerializer()


class PostedSerializer(serializers.Serializer[Any]):
    message = ChatMessageSerializer()
    hidden = serializers.BooleanField()
    notice = serializers.CharField(help_text="Why nobody else sees it, in words (or empty).")


class SendInput(serializers.Serializer[Any]):
    # the length allowed is the staff's (LivePolicy.chat_max_chars), checked by the service
    text = serializers.CharField(max_length=CHAT_MAX_CHARS_CEILING, trim_whitespace=True)


class SettingsInput(serializers.Serializer[Any]):
    # the steps allowed are the staff's (up to LivePolicy.chat_slow_mode_max_seconds)
    slow_mode_seconds = serializers.ChoiceField(choices=services.SLOW_MODE_CHOICES,
                                                required=False)
    followers_only = StrictBoolean(required=False)
    links_allowed = StrictBoolean(required=False)


class PinInput(serializers.Serializer[Any]):
    message_id = IdStringField()


class MuteInput(serializers.Serializer[Any]):
    user_id = IdStringField()
    # the lengths allowed are the staff's (LivePolicy.chat_mute_*_minutes)
    minutes = serializers.IntegerField(min_value=1, max_value=24 * 60)


class BanInput(serializers.Serializer[Any]):
    user_id = IdStringField()


class LikesInput(serializers.Serializer[Any]):
    count = serializers.IntegerField(min_value=1, max_value=1000, default=1)


class GiftInput(serializers.Serializer[Any]):
    gift_id = IdStringField()


class ModeratorInput(serializers.Serializer[Any]):
    username = serializers.CharField(max_length=150)


class ModeratorSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="user_id")
    username = serializers.CharField(source="user.username")
    added_at = serializers.DateTimeField(source="created_at")


def _valid(serializer: type[serializers.Serializer[Any]], data: Any) -> dict[str, Any]:
    found = serializer(data=data)
    found.is_valid(raise_exception=True)
    return dict(found.validated_data)


class ChatApi(APIView):
    permission_classes = [AllowAny]

    def get_permissions(self) -> list[Any]:
        return [IsAuthenticated()] if self.request.method == "POST" else [AllowAny()]

    def get_throttles(self) -> list[Any]:
        found = super().get_throttles()
        return [*found, LiveChatThrottle()] if self.request.method == "POST" else found

    @extend_schema(operation_id="live_chat_state", summary="The chat as a joiner sees it: "
                   "settings, pinned message, the latest messages, counts, your standing",
                   parameters=[LIVE_ID], responses={200: ChatStateSerializer,
                                                    **errors(404, 429)}, tags=TAGS)
    def get(self, request: Request, live_id: str) -> Response:
        viewer = request.user if request.user.is_authenticated else None
        live = live_for(request.user, live_id)
        return Response(chat_selectors.chat_state(viewer, live))  # type: ignore[arg-type]

    @extend_schema(operation_id="live_chat_send", summary="Send a chat message (a hidden "
                   "one is answered with why, in words)", parameters=[LIVE_ID],
                   request=SendInput, responses={201: PostedSerializer,
                                                 **errors(400, 401, 403, 404, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request, live_id: str) -> Response:
        data = _valid(SendInput, request.data)
        _, payload, hide = services.chat_post(user_of(request), live_id, data["text"])
        return Response({"message": payload, "hidden": hide is not None,
                         "notice": hide.words if hide else ""}, status=status.HTTP_201_CREATED)


class ChatMessageApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_chat_delete", summary="Delete a chat message (the host "
                   "and moderators; authors their own)", parameters=[LIVE_ID, MESSAGE_ID],
                   responses={204: None, **errors(401, 403, 404, 429)}, tags=TAGS)
    def delete(self, request: Request, live_id: str, message_id: str) -> Response:
        services.chat_delete(user_of(request), live_id, message_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class PinApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_chat_pin", summary="Pin a message (the host and "
                   "moderators)", parameters=[LIVE_ID], request=PinInput,
                   responses={200: ChatMessageSerializer,
                              **errors(400, 401, 403, 404, 409, 429)}, tags=TAGS)
    def put(self, request: Request, live_id: str) -> Response:
        data = _valid(PinInput, request.data)
        return Response(services.chat_pin(user_of(request), live_id, data["message_id"]))

    @extend_schema(operation_id="live_chat_unpin", summary="Unpin the pinned message",
                   parameters=[LIVE_ID], responses={204: None, **errors(401, 403, 404, 409,
                                                                         429)}, tags=TAGS)
    def delete(self, request: Request, live_id: str) -> Response:
        services.chat_pin(user_of(request), live_id, None)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ChatSettingsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_chat_settings", summary="Slow mode, followers-only "
                   "chat, links (the host and moderators)", parameters=[LIVE_ID],
                   request=SettingsInput, responses={200: ChatSettingsSerializer,
                                                     **errors(400, 401, 403, 404, 409, 429)},
                   tags=TAGS)
    def patch(self, request: Request, live_id: str) -> Response:
        data = _valid(SettingsInput, request.data)
        return Response(services.chat_settings_update(user_of(request), live_id, **data))


class MutesApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_chat_mute", summary="Mute someone in this live for "
                   "one of the policy's lengths (5 or 30 minutes by default; they are told)",
                   parameters=[LIVE_ID], request=MuteInput,
                   responses={201: inline_serializer("LiveMute", {
                       "user_id": serializers.CharField(),
                       "until": serializers.DateTimeField()}),
                       **errors(400, 401, 403, 404, 409, 429)}, tags=TAGS)
    def post(self, request: Request, live_id: str) -> Response:
        data = _valid(MuteInput, request.data)
        mute = services.chat_mute(user_of(request), live_id, data["user_id"], data["minutes"])
        return Response({"user_id": str(mute.user_id), "until": mute.until},
                        status=status.HTTP_201_CREATED)


class MuteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_chat_unmute", summary="End someone's mute",
                   parameters=[LIVE_ID, USER_ID],
                   responses={204: None, **errors(401, 403, 404, 429)}, tags=TAGS)
    def delete(self, request: Request, live_id: str, user_id: str) -> Response:
        services.chat_unmute(user_of(request), live_id, user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class BansApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_chat_ban", summary="Ban someone from the host's lives "
                   "(watching and chat; their connections close)", parameters=[LIVE_ID],
                   request=BanInput, responses={201: None, **errors(400, 401, 403, 404, 429)},
                   tags=TAGS)
    def post(self, request: Request, live_id: str) -> Response:
        data = _valid(BanInput, request.data)
        services.chat_ban(user_of(request), live_id, data["user_id"])
        return Response(status=status.HTTP_201_CREATED)


class BanApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_chat_unban", summary="Lift a ban from the host's lives",
                   parameters=[LIVE_ID, USER_ID],
                   responses={204: None, **errors(401, 403, 404, 429)}, tags=TAGS)
    def delete(self, request: Request, live_id: str, user_id: str) -> Response:
        services.chat_unban(user_of(request), live_id, user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class LikesApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [LiveChatThrottle]

    @extend_schema(operation_id="live_likes", summary="Taps on the heart since the last send "
                   "(the room sees them within about a second)", parameters=[LIVE_ID],
                   request=LikesInput, responses={200: inline_serializer("LiveLikes", {
                       "counted": serializers.IntegerField()}),
                       **errors(400, 401, 404, 409, 429)}, tags=TAGS)
    def post(self, request: Request, live_id: str) -> Response:
        data = _valid(LikesInput, request.data)
        return Response({"counted": services.likes_add(user_of(request), live_id,
                                                       data["count"])})


class GiftsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_gift_send", summary="Send a gift in a live (its coins "
                   "from your wallet to the host; the room sees its animation)",
                   parameters=[LIVE_ID, IDEMPOTENCY_KEY], request=GiftInput,
                   responses={201: SendSerializer, 200: SendSerializer,
                              **errors(400, 401, 403, 404, 409, 429)}, tags=TAGS)
    def post(self, request: Request, live_id: str) -> Response:
        data = _valid(GiftInput, request.data)
        send, created = services.live_gift_send(
            user_of(request), live_id, data["gift_id"], key=idempotency_key(request),
            session_key=session_key_of(request))
        return Response(SendSerializer(send).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class ModeratorsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_moderators", summary="The people who moderate your "
                   "lives' chats", responses={200: ModeratorSerializer(many=True),
                                              **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        rows = (LiveModerator.objects.filter(host_id=user_of(request).pk)
                .select_related("user").order_by("-created_at"))
        return Response(ModeratorSerializer(rows, many=True).data)

    @extend_schema(operation_id="live_moderator_add", summary="Name someone to moderate your "
                   "lives' chats", request=ModeratorInput,
                   responses={201: ModeratorSerializer, **errors(400, 401, 404, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request) -> Response:
        data = _valid(ModeratorInput, request.data)
        found = services.moderator_add(user_of(request), data["username"])
        return Response(ModeratorSerializer(found).data, status=status.HTTP_201_CREATED)


class ModeratorApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_moderator_remove", summary="Remove one of your "
                   "moderators", parameters=[USER_ID],
                   responses={204: None, **errors(401, 404, 429)}, tags=TAGS)
    def delete(self, request: Request, user_id: str) -> Response:
        services.moderator_remove(user_of(request), user_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
