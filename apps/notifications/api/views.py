"""The inbox API: the person's notifications (tabs, cursor pages), the unread count, mark
read, accept/decline a follow request from its notification, preferences and per-creator
post notifications. Thin views over `selectors` and `services`."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_field,
    extend_schema_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import require_no_fields, user_of
from apps.core.api.schema import ErrorDocs
from apps.core.errors import NotFoundError
from apps.core.ids import id_or_404
from apps.core.pagination import IdCursorPagination
from apps.notifications import selectors, services, types
from apps.notifications.digest.models import DigestSetting
from apps.notifications.models import CreatorPostSubscription, Notification
from apps.notifications.services.inbox import NOTIFICATION_NOT_FOUND
from apps.social import selectors as social_selectors
from apps.social import services as social_services
from apps.social.api.serializers import AvatarField, UserSummarySerializer

errors = ErrorDocs({
    400: "Invalid input (unknown tab or type, bad cursor, bad time or time zone).",
    404: "No such notification (or not yours), or no such user.",
    409: "Not possible now (e.g. post notifications of someone you do not follow).",
})
TAGS = ["notifications"]
NOTIFICATION_ID = OpenApiParameter("notification_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                   description="The notification's id (a string).")
USERNAME = OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH,
                            description="Case-insensitive.")
TAB = OpenApiParameter("tab", OpenApiTypes.STR, OpenApiParameter.QUERY,
                       enum=[str(tab) for tab in types.Tab], description="Default: all.")


class SeqCursorPagination(IdCursorPagination):
    # A group that grows takes a new seq and comes back on top.
    ordering = "-seq"


@extend_schema_serializer(component_name="Notification")
class NotificationSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(source="notification.id", help_text="64-bit id, as a string.")
    seq = serializers.IntegerField(
        source="notification.seq",
        help_text="Per-recipient, increasing with every new or grown notification.")
    type = serializers.CharField(source="notification.type")
    title = serializers.CharField(help_text="What happened, in words.")
    body = serializers.CharField()
    url = serializers.CharField(source="path", help_text="The web path it opens.")
    target_type = serializers.CharField(source="notification.target_type")
    target_id = serializers.CharField(source="notification.target_id", allow_null=True)
    actors = UserSummarySerializer(many=True, help_text="The latest actors (a few).")
    actor_count = serializers.IntegerField(source="notification.actor_count")
    extra = serializers.DictField(
        source="notification.data", child=serializers.JSONField(),
        help_text="Type-specific: a comment's excerpt, a notice's rule and appeal path.")
    read = serializers.SerializerMethodField()
    request_pending = serializers.BooleanField(
        help_text="A follow request still waiting for accept/decline.")
    created_at = serializers.DateTimeField(source="notification.created_at")
    updated_at = serializers.DateTimeField(source="notification.updated_at")

    def get_read(self, line: selectors.Line) -> bool:
        return line.notification.read_at is not None

    def to_representation(self, line: selectors.Line) -> dict[str, Any]:
        """What the declared fields give (they stay the schema; a test checks both agree
        on every kind of line), built directly: DRF's walk over the fields and the nested
        actors' serializer was most of the inbox page's CPU (20 lines) and of the writer's
        per-batch live items (5,000 lines for a new post's followers). As DRF: a field
        whose value is None is None."""
        n = line.notification
        stamp = _STAMP.to_representation
        return {
            "id": _text(n.id), "seq": None if n.seq is None else int(n.seq),
            "type": _text(n.type), "title": _text(line.title), "body": _text(line.body),
            "url": _text(line.path), "target_type": _text(n.target_type),
            "target_id": _text(n.target_id),
            "actors": [_actor(user) for user in line.actors],
            "actor_count": None if n.actor_count is None else int(n.actor_count),
            "extra": None if n.data is None else {str(k): v for k, v in n.data.items()},
            "read": n.read_at is not None,
            "request_pending": None if line.request_pending is None
            else bool(line.request_pending),
            "created_at": None if n.created_at is None else stamp(n.created_at),
            "updated_at": None if n.updated_at is None else stamp(n.updated_at),
        }


_STAMP = serializers.DateTimeField()
_AVATAR = AvatarField()


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _actor(user: Any) -> dict[str, Any]:
    """UserSummarySerializer's item, built directly."""
    sizes = user.avatar_sizes
    return {"id": _text(user.id), "username": _text(user.username),
            "display_name": _text(user.display_name),
            "avatar": None if sizes is None else _AVATAR.to_representation(sizes),
            "is_private": None if user.is_private is None else bool(user.is_private),
            "is_verified": None if user.is_verified is None else bool(user.is_verified)}


class NotificationListApi(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated]
    pagination_class = SeqCursorPagination
    serializer_class = NotificationSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Notification.objects.none()
        tab = selectors.parse_tab(self.request.query_params.get("tab"))
        return selectors.notifications_for(user_of(self.request), tab=tab)

    @extend_schema(operation_id="notifications_list", summary="Your notifications, newest first",
                   parameters=[TAB], responses={200: NotificationSerializer(many=True),
                                                **errors(400, 401, 429)}, tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        user = user_of(request)
        silenced = selectors.silenced_for(user)  # read once for the filter and the lines
        tab = selectors.parse_tab(request.query_params.get("tab"))
        page = self.paginate_queryset(
            selectors.notifications_for(user, tab=tab, silenced=silenced)) or []
        lines = selectors.lines_for(user, list(page), silenced=silenced)
        return self.get_paginated_response(self.get_serializer(lines, many=True).data)


class UnreadCountApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="NotificationUnreadCount")
    class OutputSerializer(serializers.Serializer[Any]):
        unread = serializers.IntegerField()

    @extend_schema(operation_id="notifications_unread_count", summary="How many are unread",
                   responses={200: OutputSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response({"unread": selectors.unread_count(user_of(request))})


class MarkReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="notifications_read", summary="Mark one notification read",
                   parameters=[NOTIFICATION_ID], request=None,
                   responses={204: None, **errors(400, 401, 404, 429)}, tags=TAGS)
    def post(self, request: Request, notification_id: str) -> Response:
        require_no_fields(request)
        services.notification_mark_read(
            user=user_of(request), notification_id=id_or_404(notification_id,
                                                             NOTIFICATION_NOT_FOUND))
        return Response(status=status.HTTP_204_NO_CONTENT)


class MarkAllReadApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="NotificationsMarkAllRead")
    class InputSerializer(serializers.Serializer[Any]):
        up_to_seq = serializers.IntegerField(
            required=False, min_value=0,
            help_text="Only those up to this seq (what you saw); default: all.")

    @extend_schema_serializer(component_name="NotificationsMarkedRead")
    class OutputSerializer(serializers.Serializer[Any]):
        marked = serializers.IntegerField()

    @extend_schema(operation_id="notifications_read_all", summary="Mark all read",
                   request=InputSerializer,
                   responses={200: OutputSerializer, **errors(400, 401, 429)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = self.InputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        marked = services.notifications_mark_all_read(
            user=user_of(request), up_to_seq=data.validated_data.get("up_to_seq"))
        return Response({"marked": marked})


class FollowRequestAnswerApi(APIView):
    """Accept or decline the follow request a notification is about (social's services)."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="NotificationFollowRequestAnswer")
    class InputSerializer(serializers.Serializer[Any]):
        action = serializers.ChoiceField(choices=["accept", "decline"])

    @extend_schema(operation_id="notifications_follow_request_answer",
                   summary="Accept or decline the follow request of a notification",
                   parameters=[NOTIFICATION_ID], request=InputSerializer,
                   responses={204: None, **errors(400, 401, 404, 429)}, tags=TAGS)
    def post(self, request: Request, notification_id: str) -> Response:
        me = user_of(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.notification_mark_read(
            user=me, notification_id=id_or_404(notification_id, NOTIFICATION_NOT_FOUND))
        if row.type != types.FOLLOW_REQUEST.name or row.target_id is None:
            raise NotFoundError("This notification is not about a follow request.")
        if data.validated_data["action"] == "accept":
            social_services.follow_request_approve(target=me, request_id=row.target_id)
        else:
            social_services.follow_request_deny(target=me, request_id=row.target_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- preferences ---------------------------------------------------------------------------


class _ChannelsSerializer(serializers.Serializer[Any]):
    in_app = serializers.BooleanField(required=False)
    push = serializers.BooleanField(required=False)
    email = serializers.BooleanField(required=False)


class _QuietHoursSerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField(required=False)
    start = serializers.TimeField(required=False, allow_null=True, format="%H:%M",
                                  help_text="Local time, HH:MM.")
    end = serializers.TimeField(required=False, allow_null=True, format="%H:%M")
    time_zone = serializers.CharField(required=False, allow_blank=True, max_length=64,
                                      help_text="IANA name, e.g. Europe/Paris; blank: UTC.")


class _TypeSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    description = serializers.CharField(source="label")
    mandatory = serializers.BooleanField(help_text="Security and legal: always on.")
    channels = _ChannelsSerializer()


class PreferencesApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="NotificationPreferences")
    class OutputSerializer(serializers.Serializer[Any]):
        types = _TypeSerializer(many=True, source="matrix")
        quiet_hours = serializers.SerializerMethodField()
        digest = serializers.ChoiceField(choices=DigestSetting.Frequency.choices,
                                         help_text="The e-mail digest of unread notifications.")

        @extend_schema_field(_QuietHoursSerializer)
        def get_quiet_hours(self, prefs: selectors.Preferences) -> dict[str, Any]:
            return _QuietHoursSerializer({
                "enabled": prefs.quiet_enabled, "start": prefs.quiet_start,
                "end": prefs.quiet_end, "time_zone": prefs.time_zone}).data

    @extend_schema_serializer(component_name="NotificationPreferencesUpdate")
    class InputSerializer(serializers.Serializer[Any]):
        channels = serializers.DictField(
            child=_ChannelsSerializer(), required=False,
            help_text='Per type name: {"post_liked": {"push": false}}; the rest is kept.')
        quiet_hours = _QuietHoursSerializer(required=False)
        digest = serializers.ChoiceField(choices=DigestSetting.Frequency.choices, required=False,
                                         help_text="The e-mail digest: off, daily or weekly.")

    @extend_schema(operation_id="notifications_preferences_retrieve",
                   summary="Your notification settings",
                   responses={200: OutputSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response(self.OutputSerializer(selectors.preferences_for(user_of(request))).data)

    @extend_schema(operation_id="notifications_preferences_update",
                   summary="Change some notification settings",
                   request=InputSerializer,
                   responses={200: OutputSerializer, **errors(400, 401, 429)}, tags=TAGS)
    def put(self, request: Request) -> Response:
        me = user_of(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        services.preferences_update(user=me, channels=data.validated_data.get("channels"),
                                    quiet_hours=data.validated_data.get("quiet_hours"),
                                    digest=data.validated_data.get("digest"))
        return Response(self.OutputSerializer(selectors.preferences_for(me)).data)


class CreatorPostsApi(APIView):
    """Whether you hear of a followed creator's new videos: all, personalised or off."""

    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="CreatorPostNotifications")
    class Serializer(serializers.Serializer[Any]):
        level = serializers.ChoiceField(choices=CreatorPostSubscription.Level.choices)

    @extend_schema(operation_id="notifications_creator_posts_retrieve",
                   summary="Your post notifications setting for a creator",
                   parameters=[USERNAME],
                   responses={200: Serializer, **errors(401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, username: str) -> Response:
        me = user_of(request)
        creator = social_selectors.get_graph_target_for(me, username=username)
        return Response({"level": selectors.creator_subscription_level(me, creator)})

    @extend_schema(operation_id="notifications_creator_posts_update",
                   summary="Set your post notifications for a creator you follow",
                   parameters=[USERNAME], request=Serializer,
                   responses={200: Serializer, **errors(400, 401, 404, 409, 429)}, tags=TAGS)
    def put(self, request: Request, username: str) -> Response:
        me = user_of(request)
        creator = social_selectors.get_graph_target_for(me, username=username)
        data = self.Serializer(data=request.data)
        data.is_valid(raise_exception=True)
        row = services.creator_subscription_set(user=me, creator=creator,
                                                level=data.validated_data["level"])
        return Response({"level": row.level})
