"""The live API (thin: services/ and selectors.py do the work). Every object route finds
the live through `selectors.live_for` (viewers) or `selectors.own_live` (the host's
routes): someone else's live, a hidden one and an unknown id are the same 404."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers, status
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.core.api.schema import ErrorDocs
from apps.live import selectors
from apps.live.eligibility import go_live_refusal
from apps.live.models import LiveStream, StreamKey
from apps.live.services import keys as key_services
from apps.live.services import lifecycle
from apps.social.api.serializers import UserSummarySerializer

TAGS = ["live"]
errors = ErrorDocs({
    400: "Invalid input: a missing or too long title, an unknown audience, a cover that is "
         "not an image, `save` that is not true or false.",
    403: "You may not go live (under 18, a new account, too few followers, a severe "
         "strike, a restricted account); the message says which, in words.",
    404: "No such live, or not visible to you (or not yours, for the host's routes).",
    409: "You are already live; the live has ended; nothing was recorded; the replay "
         "already exists.",
})
LIVE_ID = OpenApiParameter("live_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The live's id (a string).")
MAX_COVER_BYTES = 5 * 1024 * 1024


class StrictBooleanField(serializers.BooleanField):
    """true or false only (DRF's would take "yes", 1, "on")."""

    def to_internal_value(self, data: Any) -> bool:
        if not isinstance(data, bool):
            raise serializers.ValidationError("true or false.")
        return data


def _cover_url(live: LiveStream) -> str:
    return selectors.cover_url(live) or ""


class LiveSerializer(serializers.Serializer[LiveStream]):
    id = serializers.CharField()
    title = serializers.CharField()
    audience = serializers.ChoiceField(choices=LiveStream.Audience.choices)
    state = serializers.ChoiceField(choices=LiveStream.State.choices)
    state_label = serializers.CharField(source="get_state_display")
    host = UserSummarySerializer()
    cover_url = serializers.SerializerMethodField()
    playback_url = serializers.SerializerMethodField(
        help_text="The HLS master playlist (hls.js); answers only while you may see the live.")
    viewer_count = serializers.SerializerMethodField(help_text="Approximate viewers now.")
    pinned_message = serializers.SerializerMethodField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    end_reason = serializers.CharField(help_text="Empty until the live ends.")
    is_host = serializers.SerializerMethodField()
    save_replay = serializers.BooleanField()
    replay_post_id = serializers.SerializerMethodField()
    srt_url = serializers.SerializerMethodField(
        help_text="The host's SRT encoder URL for this live (its own port and passphrase); "
                  "null for others, once ended, or before the ingest listens for it.")

    def get_srt_url(self, live: LiveStream) -> str | None:
        if not self.get_is_host(live) or live.state == LiveStream.State.ENDED:
            return None
        from apps.live.ingest.srt import srt_url

        return srt_url(live)

    def get_cover_url(self, live: LiveStream) -> str:
        return _cover_url(live)

    def get_playback_url(self, live: LiveStream) -> str:
        return f"/live/{live.pk}/hls/index.m3u8"

    def get_viewer_count(self, live: LiveStream) -> int:
        cached = getattr(live, "viewer_count", None)
        if cached is not None:
            return int(cached)
        return selectors.viewer_counts([live.pk]).get(live.pk, 0) if live.is_on_air else 0

    def get_pinned_message(self, live: LiveStream) -> dict[str, str] | None:
        message = live.pinned_message
        if message is None or message.hidden:
            return None
        return {"id": str(message.pk), "text": message.text,
                "author": message.author.username}

    def get_is_host(self, live: LiveStream) -> bool:
        request = self.context.get("request")
        return bool(request and request.user.is_authenticated
                    and request.user.pk == live.host_id)

    def get_replay_post_id(self, live: LiveStream) -> str | None:
        return str(live.replay_post_id) if live.replay_post_id else None


class StatsSerializer(serializers.Serializer[LiveStream]):
    id = serializers.CharField()
    state = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    ended_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.SerializerMethodField()
    peak_viewers = serializers.IntegerField()
    unique_viewers = serializers.IntegerField()
    average_viewers = serializers.SerializerMethodField(
        help_text="Watch time over the live's duration.")
    watch_seconds = serializers.IntegerField()
    likes = serializers.IntegerField()
    gift_coins = serializers.IntegerField()
    new_followers = serializers.IntegerField()

    def get_duration_seconds(self, live: LiveStream) -> int:
        return selectors.duration_seconds(live)

    def get_average_viewers(self, live: LiveStream) -> float:
        duration = selectors.duration_seconds(live)
        return round(live.watch_seconds / duration, 1) if duration else 0.0


class RefusalSerializer(serializers.Serializer[Any]):
    can_go_live = serializers.BooleanField()
    code = serializers.CharField(help_text="Empty when you may go live.")
    message = serializers.CharField(help_text="Why not, in words (empty when you may).")


class KeySerializer(serializers.Serializer[StreamKey]):
    id = serializers.CharField()
    prefix = serializers.CharField(help_text="The key's first characters, to recognise it.")
    created_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(allow_null=True)
    rtmp_url = serializers.SerializerMethodField()
    srt_url = serializers.SerializerMethodField(
        help_text="The SRT server. Each live listens on its own port with its own "
                  "passphrase: the URL to paste is your live's `srt_url`.")

    def get_rtmp_url(self, key: StreamKey) -> str:
        return str(settings.SWIPEME_LIVE_RTMP_URL)

    def get_srt_url(self, key: StreamKey) -> str:
        # the SRT server; each live listens on its own port with its own passphrase: the
        # full URL is the host's live's `srt_url`
        return str(settings.SWIPEME_LIVE_SRT_URL)


class NewKeySerializer(KeySerializer):
    key = serializers.CharField(help_text="The stream key: shown this once. Paste it into "
                                          "your encoder; keep it secret.")


class KeyStateSerializer(serializers.Serializer[Any]):
    key = KeySerializer(allow_null=True, help_text="Your active key (never the key itself), "
                                                   "or null.")


def _title(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise serializers.ValidationError("Give your live a title.")
    return value


@extend_schema_serializer(component_name="LiveCreateInput")
class CreateInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=100, trim_whitespace=True, error_messages={
        "blank": "Give your live a title.", "required": "Give your live a title."})
    audience = serializers.ChoiceField(choices=LiveStream.Audience.choices,
                                       default=LiveStream.Audience.EVERYONE)
    cover = serializers.ImageField(required=False, allow_null=True)

    def validate_title(self, value: str) -> str:
        return _title(value)

    def validate_cover(self, value: UploadedFile[bytes] | None) -> UploadedFile[bytes] | None:
        if value is not None and (value.size or 0) > MAX_COVER_BYTES:
            raise serializers.ValidationError("A cover of at most 5 MB.")
        return value


@extend_schema_serializer(component_name="LiveUpdateInput")
class UpdateInput(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=100, required=False)
    audience = serializers.ChoiceField(choices=LiveStream.Audience.choices, required=False)

    def validate_title(self, value: str) -> str:
        return _title(value)


@extend_schema_serializer(component_name="LiveReplayInput")
class ReplayInput(serializers.Serializer[Any]):
    # DRF's metaclass pops declared fields off the class, so this never hides save()
    save = StrictBooleanField(  # type: ignore[assignment]
        help_text="true: the recording becomes a post; false: not.")


def _live(live: LiveStream, request: Request) -> dict[str, Any]:
    return dict(LiveSerializer(live, context={"request": request}).data)


class LivesApi(APIView):
    permission_classes = [AllowAny]
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_permissions(self) -> list[Any]:
        return [IsAuthenticated()] if self.request.method == "POST" else [AllowAny()]

    @extend_schema(operation_id="live_tab", summary="The Live tab: lives on air you may "
                   "watch, hosts you follow first, then by viewers",
                   responses={200: LiveSerializer(many=True), **errors(429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        rows = selectors.live_tab(request.user)
        return Response([_live(live, request) for live in rows])

    @extend_schema(operation_id="live_create", summary="Set up a live (it starts when your "
                   "encoder's media arrives); while one waits, it is answered updated",
                   request={"application/json": CreateInput,
                            "multipart/form-data": CreateInput},
                   responses={201: LiveSerializer, **errors(400, 401, 403, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request) -> Response:
        data = CreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        live = lifecycle.live_create(user_of(request), title=values["title"],
                                     audience=values["audience"], cover=values.get("cover"))
        return Response(_live(live, request), status=status.HTTP_201_CREATED)


class LiveApi(APIView):
    permission_classes = [AllowAny]

    def get_permissions(self) -> list[Any]:
        return [IsAuthenticated()] if self.request.method == "PATCH" else [AllowAny()]

    @extend_schema(operation_id="live_retrieve", summary="A live (while you may see it)",
                   parameters=[LIVE_ID], responses={200: LiveSerializer, **errors(404, 429)},
                   tags=TAGS)
    def get(self, request: Request, live_id: str) -> Response:
        return Response(_live(selectors.live_for(request.user, live_id), request))

    @extend_schema(operation_id="live_update", summary="Change your live's title or audience",
                   parameters=[LIVE_ID], request=UpdateInput,
                   responses={200: LiveSerializer, **errors(400, 401, 404, 409, 429)},
                   tags=TAGS)
    def patch(self, request: Request, live_id: str) -> Response:
        live = selectors.own_live(user_of(request), live_id)
        data = UpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        live = lifecycle.live_update(live, **data.validated_data)
        return Response(_live(selectors.own_live(user_of(request), live.pk), request))


class LiveEndApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_end", summary="End your live (ending it again is "
                   "answered as it is)", parameters=[LIVE_ID], request=None,
                   responses={200: LiveSerializer, **errors(401, 404, 429)}, tags=TAGS)
    def post(self, request: Request, live_id: str) -> Response:
        live = selectors.own_live(user_of(request), live_id)
        live = lifecycle.live_end(live, reason=LiveStream.EndReason.HOST,
                                  by=user_of(request))
        return Response(_live(selectors.own_live(user_of(request), live.pk), request))


class LiveReplayApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_replay", summary="Save the recording as a replay post "
                   "(or not); after the end it is made at once, before it when the live ends",
                   parameters=[LIVE_ID], request=ReplayInput,
                   responses={200: LiveSerializer, **errors(400, 401, 404, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request, live_id: str) -> Response:
        live = selectors.own_live(user_of(request), live_id)
        data = ReplayInput(data=request.data)
        data.is_valid(raise_exception=True)
        live = lifecycle.replay_choose(live, save=data.validated_data["save"])
        return Response(_live(selectors.own_live(user_of(request), live.pk), request))


class LiveStatsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_stats", summary="Your live's stats (viewers, watch "
                   "time, likes, gifts, new followers)", parameters=[LIVE_ID],
                   responses={200: StatsSerializer, **errors(401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, live_id: str) -> Response:
        return Response(StatsSerializer(selectors.own_live(user_of(request), live_id)).data)


class EligibilityApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_eligibility", summary="Can I go live? (or why not, in "
                   "words)", responses={200: RefusalSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        refusal = go_live_refusal(user_of(request))
        return Response({"can_go_live": refusal is None,
                         "code": refusal.code if refusal else "",
                         "message": refusal.message if refusal else ""})


class KeyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="live_key_retrieve", summary="Your stream key (its prefix "
                   "and the ingest URLs; the key itself is shown only when made)",
                   responses={200: KeyStateSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        key = selectors.active_key(user_of(request))
        return Response({"key": KeySerializer(key).data if key else None})

    @extend_schema(operation_id="live_key_create", summary="Make your stream key, or rotate "
                   "it (the old one stops working; a live it is streaming ends)", request=None,
                   responses={201: NewKeySerializer, **errors(401, 403, 429)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        key, plain = key_services.key_create(user_of(request))
        body = dict(KeySerializer(key).data)
        body["key"] = plain
        return Response(body, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="live_key_revoke", summary="Revoke your stream key (a live "
                   "it is streaming ends)", request=None,
                   responses={204: None, **errors(401, 404, 429)}, tags=TAGS)
    def delete(self, request: Request) -> Response:
        if key_services.key_revoke(user_of(request)) is None:
            from apps.core.errors import NotFoundError

            raise NotFoundError("You have no stream key to revoke.")
        return Response(status=status.HTTP_204_NO_CONTENT)
