"""Thin views over apps.social.selectors (reads) and apps.social.services (writes)."""

from __future__ import annotations

from typing import Any, cast

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    extend_schema,
    extend_schema_serializer,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import Serializer
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.accounts.api.request import require_no_fields, user_of, viewer_of
from apps.accounts.models import User
from apps.core.ids import id_or_404
from apps.core.pagination import IdCursorPagination
from apps.core.throttles import FollowThrottle
from apps.social import selectors, services
from apps.social.api.serializers import (
    AvatarField,
    RelationSerializer,
    UserRowSerializer,
    UserSummarySerializer,
    errors,
    live_ring_of,
)
from apps.social.models import Block, Follow, FollowRequest, Mute, UserEdge

USERNAME = OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH,
                            description="Case-insensitive.")
REQUEST_ID = OpenApiParameter("request_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                              description="The follow request's id (a string).")





# --- profile -----------------------------------------------------------------------------


class UserProfileApi(APIView):
    @extend_schema_serializer(component_name="UserProfile")
    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.CharField(source="user.id", help_text="64-bit id, as a string.")
        username = serializers.CharField(source="user.username")
        display_name = serializers.CharField(source="user.display_name")
        bio = serializers.CharField(source="user.bio")
        links = serializers.JSONField(source="user.links")
        avatar = AvatarField(source="user.avatar_sizes")
        is_private = serializers.BooleanField(source="user.is_private")
        is_verified = serializers.BooleanField(source="user.is_verified")
        followers_count = serializers.IntegerField(source="user.followers_count")
        following_count = serializers.IntegerField(source="user.following_count")
        relation = RelationSerializer()
        is_live = serializers.SerializerMethodField(
            help_text="On air now in a live you may watch: the ring on the avatar.")
        live_id = serializers.SerializerMethodField(
            help_text="That live's id (its page: /live/<id>), or null.")

        def get_is_live(self, profile: Any) -> bool:
            return live_ring_of(self, profile.user.pk) is not None

        def get_live_id(self, profile: Any) -> str | None:
            live_id = live_ring_of(self, profile.user.pk)
            return str(live_id) if live_id is not None else None

    @extend_schema(
        operation_id="users_profile_retrieve",
        summary="A user's public profile and your relation to them",
        parameters=[USERNAME],
        responses={200: OutputSerializer, **errors(404, 429)},
        tags=["social"],
    )
    def get(self, request: Request, username: str) -> Response:
        profile = selectors.get_profile_for(viewer_of(request), username=username)
        return Response(self.OutputSerializer(profile, context={"request": request}).data)


# --- follow / unfollow ----------------------------------------------------------------------


class FollowApi(APIView):
    permission_classes = [IsAuthenticated]
    throttle_classes = [
        *cast(list[type[BaseThrottle]], api_settings.DEFAULT_THROTTLE_CLASSES), FollowThrottle,
    ]

    @extend_schema_serializer(component_name="FollowState")
    class OutputSerializer(serializers.Serializer[Any]):
        state = serializers.ChoiceField(choices=["following", "requested"])

    @extend_schema(
        operation_id="users_follow_create",
        summary="Follow (a request, if the account is private). Idempotent.",
        parameters=[USERNAME],
        request=None,
        responses={200: OutputSerializer, **errors(400, 401, 403, 404, 429)},
        tags=["social"],
    )
    def post(self, request: Request, username: str) -> Response:
        require_no_fields(request)
        me = user_of(request)
        target = selectors.get_graph_target_for(me, username=username)
        state = services.follow_create(follower=me, followee=target)
        return Response(self.OutputSerializer({"state": state.value}).data)

    @extend_schema(
        operation_id="users_follow_destroy",
        summary="Unfollow, or cancel a pending request. Idempotent.",
        parameters=[USERNAME],
        responses={204: None, **errors(401, 404, 429)},
        tags=["social"],
    )
    def delete(self, request: Request, username: str) -> Response:
        me = user_of(request)
        target = selectors.get_graph_target_for(me, username=username)
        services.follow_delete(follower=me, followee=target)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- lists -----------------------------------------------------------------------------------


class _UserListApi(generics.ListAPIView):  # type: ignore[type-arg]
    pagination_class = IdCursorPagination
    serializer_class = UserRowSerializer
    user_field = "follower"

    def rows(self, viewer: User | None, username: str) -> Any:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Follow.objects.none()
        return self.rows(viewer_of(self.request), self.kwargs["username"])

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset())
        viewer = viewer_of(request)
        rows = selectors.user_rows(page or [], viewer=viewer, user_field=self.user_field)
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)


_LIST_ERRORS = errors(400, 403, 404, 429)


class FollowersListApi(_UserListApi):
    user_field = "follower"

    def rows(self, viewer: User | None, username: str) -> Any:
        return selectors.get_followers_for(viewer, username=username)

    @extend_schema(operation_id="users_followers_list", summary="Who follows this user",
                   parameters=[USERNAME], responses={200: UserRowSerializer(many=True),
                                                     **_LIST_ERRORS}, tags=["social"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class FollowingListApi(_UserListApi):
    user_field = "followee"

    def rows(self, viewer: User | None, username: str) -> Any:
        return selectors.get_following_for(viewer, username=username)

    @extend_schema(operation_id="users_following_list", summary="Whom this user follows",
                   parameters=[USERNAME], responses={200: UserRowSerializer(many=True),
                                                     **_LIST_ERRORS}, tags=["social"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class FriendsListApi(_UserListApi):
    user_field = "followee"

    def rows(self, viewer: User | None, username: str) -> Any:
        return selectors.get_friends_for(viewer, username=username)

    @extend_schema(operation_id="users_friends_list",
                   summary="Mutual follows of this user (they follow each other)",
                   parameters=[USERNAME], responses={200: UserRowSerializer(many=True),
                                                     **_LIST_ERRORS}, tags=["social"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- follow requests --------------------------------------------------------------------------


class FollowRequestListApi(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination

    @extend_schema_serializer(component_name="FollowRequestRow")
    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.CharField(help_text="The request id, as a string.")
        created_at = serializers.DateTimeField()
        user = UserSummarySerializer(source="requester")
        relation = RelationSerializer()

    serializer_class = OutputSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return FollowRequest.objects.none()
        return selectors.get_follow_requests_for(user_of(self.request))

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        rows = selectors.user_rows(page, viewer=user_of(request), user_field="requester")
        data = [{"id": req.pk, "created_at": req.created_at, "requester": req.requester,
                 "relation": row.relation} for req, row in zip(page, rows, strict=True)]
        return self.get_paginated_response(self.get_serializer(data, many=True).data)

    @extend_schema(operation_id="me_follow_requests_list",
                   summary="Pending requests to follow you, newest first",
                   responses={200: OutputSerializer(many=True), **errors(400, 401, 429)},
                   tags=["social"])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


def _request_id(raw: str) -> int:
    return id_or_404(raw, "Follow request not found.")


class FollowRequestApproveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_follow_requests_approve",
        summary="Approve a request: the requester now follows you",
        parameters=[REQUEST_ID],
        request=None,
        responses={200: inline_serializer("FollowRequestApproved",
                                          {"follower": UserSummarySerializer()}),
                   **errors(400, 401, 404, 429)},
        tags=["social"],
    )
    def post(self, request: Request, request_id: str) -> Response:
        require_no_fields(request)
        follow = services.follow_request_approve(target=user_of(request),
                                                 request_id=_request_id(request_id))
        follower = User.objects.only(*selectors.SUMMARY_FIELDS).get(pk=follow.follower_id)
        return Response({"follower": UserSummarySerializer(follower).data})


class FollowRequestDenyApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_follow_requests_deny",
        summary="Deny (delete) a request",
        parameters=[REQUEST_ID],
        request=None,
        responses={204: None, **errors(400, 401, 404, 429)},
        tags=["social"],
    )
    def post(self, request: Request, request_id: str) -> Response:
        require_no_fields(request)
        services.follow_request_deny(target=user_of(request), request_id=_request_id(request_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class FollowRequestApproveAllApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="FollowRequestsApprovedAll")
    class OutputSerializer(serializers.Serializer[Any]):
        approved = serializers.IntegerField(help_text="How many new followers this made.")

    @extend_schema(
        operation_id="me_follow_requests_approve_all",
        summary="Approve every pending request",
        request=None,
        responses={200: OutputSerializer, **errors(400, 401, 429)},
        tags=["social"],
    )
    def post(self, request: Request) -> Response:
        require_no_fields(request)
        approved = services.follow_requests_accept_all(user_id=user_of(request).pk)
        return Response(self.OutputSerializer({"approved": approved}).data)


class FollowerRemoveApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="me_followers_destroy",
        summary="Remove someone from your followers (they are not blocked). Idempotent.",
        parameters=[USERNAME],
        responses={204: None, **errors(401, 404, 429)},
        tags=["social"],
    )
    def delete(self, request: Request, username: str) -> Response:
        me = user_of(request)
        follower = selectors.get_graph_target_for(me, username=username)
        services.follower_remove(user=me, follower=follower)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- blocks and mutes: one-way edges the viewer makes toward another account -------------


# POST makes the edge toward `username`, DELETE removes it; both idempotent, 204. (A comment,
# not a docstring: drf-spectacular would publish a docstring as each operation's description.)
class _UserEdgeApi(APIView):
    permission_classes = [IsAuthenticated]
    reveal_blockers = False  # see selectors.get_graph_target_for

    def add(self, me: User, target: User) -> None:
        raise NotImplementedError

    def remove(self, me: User, target: User) -> None:
        raise NotImplementedError

    def _target(self, me: User, username: str) -> User:
        return selectors.get_graph_target_for(me, username=username,
                                              reveal_blockers=self.reveal_blockers)

    def post(self, request: Request, username: str) -> Response:
        require_no_fields(request)
        me = user_of(request)
        self.add(me, self._target(me, username))
        return Response(status=status.HTTP_204_NO_CONTENT)

    def delete(self, request: Request, username: str) -> Response:
        me = user_of(request)
        self.remove(me, self._target(me, username))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _edge_schema(name: str, *, create: str, destroy: str) -> Any:
    return extend_schema_view(
        post=extend_schema(operation_id=f"users_{name}_create", summary=create,
                           parameters=[USERNAME], request=None,
                           responses={204: None, **errors(400, 401, 404, 429)},
                           tags=["social"]),
        delete=extend_schema(operation_id=f"users_{name}_destroy", summary=destroy,
                             parameters=[USERNAME],
                             responses={204: None, **errors(401, 404, 429)}, tags=["social"]),
    )


@_edge_schema("block", create="Block: removes follows and requests both ways. Idempotent.",
              destroy="Unblock (removed follows are not restored). Idempotent.")
class BlockApi(_UserEdgeApi):
    reveal_blockers = True  # blocking back and unblocking work whatever the other side did

    def add(self, me: User, target: User) -> None:
        services.block_create(blocker=me, blocked=target)

    def remove(self, me: User, target: User) -> None:
        services.block_delete(blocker=me, blocked=target)


@_edge_schema("mute", create="Mute: hide their content from you; they are not told. Idempotent.",
              destroy="Unmute. Idempotent.")
class MuteApi(_UserEdgeApi):
    def add(self, me: User, target: User) -> None:
        services.mute_create(muter=me, muted=target)

    def remove(self, me: User, target: User) -> None:
        services.mute_delete(muter=me, muted=target)


def _edge_row_serializer(component_name: str, user_field: str) -> type[Serializer[Any]]:
    """A row of the viewer's blocks or mutes: when, and the account."""

    @extend_schema_serializer(component_name=component_name)
    class EdgeRowSerializer(serializers.Serializer[Any]):
        created_at = serializers.DateTimeField()
        user = UserSummarySerializer(source=user_field)

    return EdgeRowSerializer


# The viewer's own edges of one kind, newest first.
class _UserEdgeListApi(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination
    model: type[UserEdge]

    def rows(self, viewer: User) -> Any:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return self.model._default_manager.none()
        return self.rows(user_of(self.request))


def _edge_list_schema(operation_id: str, summary: str, row: type[Serializer[Any]]) -> Any:
    return extend_schema_view(get=extend_schema(
        operation_id=operation_id, summary=summary,
        responses={200: row(many=True), **errors(400, 401, 429)}, tags=["social"]))


_BlockRow = _edge_row_serializer("BlockRow", "blocked")
_MuteRow = _edge_row_serializer("MuteRow", "muted")


@_edge_list_schema("me_blocks_list", "The accounts you blocked", _BlockRow)
class BlockListApi(_UserEdgeListApi):
    model = Block
    serializer_class = _BlockRow

    def rows(self, viewer: User) -> Any:
        return selectors.get_blocks_for(viewer)


@_edge_list_schema("me_mutes_list", "The accounts you muted", _MuteRow)
class MuteListApi(_UserEdgeListApi):
    model = Mute
    serializer_class = _MuteRow

    def rows(self, viewer: User) -> Any:
        return selectors.get_mutes_for(viewer)
