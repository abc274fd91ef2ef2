"""Thin views over apps.engagement.selectors (reads) and apps.engagement.services (writes).
Every post is looked up through `apps.content.selectors.get_post_for`: a post the viewer
may not see (unknown, removed, private, blocked either way) is a 404."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import require_no_fields, user_of, viewer_of
from apps.content.selectors import get_post_for
from apps.core.ids import id_or_404
from apps.core.pagination import IdCursorPagination
from apps.engagement import selectors, services
from apps.engagement.api.serializers import CountersSerializer, PostRowSerializer, errors
from apps.engagement.models import Collection, Favourite, Like, Share

POST_ID = OpenApiParameter("post_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The post's id (a string).")
COLLECTION_ID = OpenApiParameter("collection_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                                 description="The collection's id (a string).")
USERNAME = OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH,
                            description="Case-insensitive.")
TAGS = ["engagement"]





def _collection_id(raw: str) -> int:
    return id_or_404(raw, services.COLLECTION_NOT_FOUND)


def _post_id(raw: str) -> int:
    return id_or_404(raw, "Post not found.")


def share_url(post_id: int) -> str:
    return f"{settings.SITE_URL.rstrip('/')}{reverse('web:share', args=[post_id])}"


# --- per-post state -----------------------------------------------------------------------------


@extend_schema_serializer(component_name="PostEngagement")
class PostEngagementSerializer(serializers.Serializer[Any]):
    post_id = serializers.CharField()
    counters = CountersSerializer()
    liked = serializers.BooleanField()
    favourited = serializers.BooleanField()
    collection_id = serializers.CharField(allow_null=True)


def _engagement_response(request: Request, post_id: int) -> Response:
    post = get_post_for(viewer=viewer_of(request), post_id=post_id)
    state = selectors.post_engagement_for(viewer=viewer_of(request), post=post)
    return Response(PostEngagementSerializer(state).data)


class PostEngagementApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="posts_engagement_retrieve",
                   summary="A post's counters and what you did to it",
                   parameters=[POST_ID], responses={200: PostEngagementSerializer,
                                                    **errors(404, 429)}, tags=TAGS)
    def get(self, request: Request, post_id: str) -> Response:
        return _engagement_response(request, _post_id(post_id))


class LikeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="posts_like_create", summary="Like a post. Idempotent.",
                   parameters=[POST_ID], request=None,
                   responses={200: PostEngagementSerializer, **errors(400, 401, 404, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request, post_id: str) -> Response:
        require_no_fields(request)
        post = get_post_for(viewer=user_of(request), post_id=_post_id(post_id))
        services.like_create(user=user_of(request), post=post)
        return _engagement_response(request, post.pk)

    @extend_schema(operation_id="posts_like_destroy", summary="Unlike a post. Idempotent.",
                   parameters=[POST_ID], responses={204: None, **errors(401, 404, 429)},
                   tags=TAGS)
    def delete(self, request: Request, post_id: str) -> Response:
        services.like_delete(user=user_of(request), post_id=_post_id(post_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class FavouriteApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="FavouriteInput")
    class InputSerializer(serializers.Serializer[Any]):
        collection_id = serializers.RegexField(r"^[0-9]{1,19}$", required=False,
                                               allow_null=True,
                                               help_text="One of your collections (a string).")

    @extend_schema(operation_id="posts_favourite_create",
                   summary="Save a post to your favourites, optionally into a collection "
                           "(saving again moves it). Idempotent.",
                   parameters=[POST_ID], request=InputSerializer,
                   responses={200: PostEngagementSerializer, **errors(400, 401, 404, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request, post_id: str) -> Response:
        data = self.InputSerializer(data=request.data or {})
        data.is_valid(raise_exception=True)
        raw = data.validated_data.get("collection_id")
        post = get_post_for(viewer=user_of(request), post_id=_post_id(post_id))
        services.favourite_create(user=user_of(request), post=post,
                                  collection_id=_collection_id(raw) if raw else None)
        return _engagement_response(request, post.pk)

    @extend_schema(operation_id="posts_favourite_destroy",
                   summary="Remove a post from your favourites. Idempotent.",
                   parameters=[POST_ID], responses={204: None, **errors(401, 404, 429)},
                   tags=TAGS)
    def delete(self, request: Request, post_id: str) -> Response:
        services.favourite_delete(user=user_of(request), post_id=_post_id(post_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class ShareApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="ShareInput")
    class InputSerializer(serializers.Serializer[Any]):
        channel = serializers.ChoiceField(choices=Share.Channel.choices)

    @extend_schema_serializer(component_name="ShareCreated")
    class OutputSerializer(serializers.Serializer[Any]):
        id = serializers.CharField(help_text="The share's id.")
        channel = serializers.CharField()
        url = serializers.URLField(help_text="The link to send: a page with Open Graph and "
                                             "Twitter card tags for public posts.")
        shares_count = serializers.IntegerField()

    @extend_schema(operation_id="posts_share_create",
                   summary="Share a post: records the share and returns its link",
                   parameters=[POST_ID], request=InputSerializer,
                   responses={201: OutputSerializer, **errors(400, 401, 404, 409, 429)},
                   tags=TAGS)
    def post(self, request: Request, post_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        post = get_post_for(viewer=user_of(request), post_id=_post_id(post_id))
        share = services.share_create(user=user_of(request), post=post,
                                      channel=data.validated_data["channel"])
        shares = selectors.counters_for([post])[post.pk].shares_count + 1
        return Response(self.OutputSerializer({
            "id": share.pk, "channel": share.channel, "url": share_url(post.pk),
            "shares_count": shares,
        }).data, status=status.HTTP_201_CREATED)


class ViewApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema_serializer(component_name="ViewInput")
    class InputSerializer(serializers.Serializer[Any]):
        watched_ms = serializers.IntegerField(min_value=0, max_value=24 * 3600 * 1000)

    @extend_schema_serializer(component_name="ViewRecorded")
    class OutputSerializer(serializers.Serializer[Any]):
        counted = serializers.BooleanField(
            help_text="Whether this view counted (qualified and the first in its window).")

    @extend_schema(operation_id="posts_view_create",
                   summary="Report a view. Counts once per viewer per post per day, after 1 s "
                           "(or half of a clip shorter than 2 s).",
                   parameters=[POST_ID], request=InputSerializer,
                   responses={200: OutputSerializer, **errors(400, 404, 409, 429)}, tags=TAGS)
    def post(self, request: Request, post_id: str) -> Response:
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        viewer = viewer_of(request)
        post = get_post_for(viewer=viewer, post_id=_post_id(post_id))
        key = f"u:{viewer.pk}" if viewer is not None else f"a:{request.META.get('REMOTE_ADDR')}"
        counted = services.view_record(post=post, viewer_key=key,
                                       watched_ms=data.validated_data["watched_ms"])
        return Response(self.OutputSerializer({"counted": counted}).data)


# --- lists of posts -------------------------------------------------------------------------------


def _post_rows(posts: list[Any]) -> list[dict[str, Any]]:
    counts = selectors.counters_for(posts)
    return [{"id": p.pk, "caption": p.caption, "published_at": p.published_at,
             "author": p.author, "counters": counts[p.pk]} for p in posts]


@extend_schema_serializer(component_name="FavouriteRow")
class FavouriteRowSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The favourite's id.")
    created_at = serializers.DateTimeField()
    collection_id = serializers.CharField(allow_null=True)
    post = PostRowSerializer()


@extend_schema_serializer(component_name="LikedPostRow")
class LikeRowSerializer(serializers.Serializer[Any]):
    id = serializers.CharField(help_text="The like's id.")
    created_at = serializers.DateTimeField()
    post = PostRowSerializer()


class _RowsApi(generics.ListAPIView):  # type: ignore[type-arg]
    pagination_class = IdCursorPagination

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        page = self.paginate_queryset(self.get_queryset()) or []
        posts = dict(zip((row.pk for row in page), _post_rows([row.post for row in page]),
                         strict=True))
        data = [{"id": row.pk, "created_at": row.created_at,
                 "collection_id": getattr(row, "collection_id", None), "post": posts[row.pk]}
                for row in page]
        return self.get_paginated_response(self.get_serializer(data, many=True).data)


class FavouriteListApi(_RowsApi):
    permission_classes = [IsAuthenticated]
    serializer_class = FavouriteRowSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Favourite.objects.none()
        return selectors.favourites_for(user_of(self.request))

    @extend_schema(operation_id="me_favourites_list", summary="Your favourites, newest first",
                   responses={200: FavouriteRowSerializer(many=True), **errors(400, 401, 429)},
                   tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CollectionPostsApi(_RowsApi):
    permission_classes = [IsAuthenticated]
    serializer_class = FavouriteRowSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Favourite.objects.none()
        return selectors.favourites_for(
            user_of(self.request), collection_id=_collection_id(self.kwargs["collection_id"]))

    @extend_schema(operation_id="me_collections_posts_list",
                   summary="The favourites in one of your collections, newest first",
                   parameters=[COLLECTION_ID],
                   responses={200: FavouriteRowSerializer(many=True),
                              **errors(400, 401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class LikedPostsApi(_RowsApi):
    permission_classes = [AllowAny]
    serializer_class = LikeRowSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Like.objects.none()
        return selectors.liked_posts_for(viewer_of(self.request), username=self.kwargs["username"])

    @extend_schema(operation_id="users_liked_posts_list",
                   summary="Posts this user liked, newest first (if they show them)",
                   parameters=[USERNAME],
                   responses={200: LikeRowSerializer(many=True), **errors(400, 403, 404, 429)},
                   tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


# --- collections --------------------------------------------------------------------------------


@extend_schema_serializer(component_name="Collection")
class CollectionSerializer(serializers.Serializer[Collection]):
    id = serializers.CharField()
    name = serializers.CharField()
    items = serializers.IntegerField(help_text="How many favourites it holds.")
    created_at = serializers.DateTimeField()


class CollectionInputSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=60)


class CollectionListApi(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination
    serializer_class = CollectionSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Collection.objects.none()
        return selectors.collections_for(user_of(self.request))

    @extend_schema(operation_id="me_collections_list", summary="Your collections, newest first",
                   responses={200: CollectionSerializer(many=True), **errors(400, 401, 429)},
                   tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="me_collections_create", summary="Create a private collection",
                   request=CollectionInputSerializer,
                   responses={201: CollectionSerializer, **errors(400, 401, 409, 429)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = CollectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        collection = services.collection_create(owner=user_of(request),
                                                name=data.validated_data["name"])
        collection = selectors.get_collection_for(user_of(request), collection_id=collection.pk)
        return Response(CollectionSerializer(collection).data, status=status.HTTP_201_CREATED)


class CollectionApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_collections_retrieve", summary="One of your collections",
                   parameters=[COLLECTION_ID],
                   responses={200: CollectionSerializer, **errors(401, 404, 429)}, tags=TAGS)
    def get(self, request: Request, collection_id: str) -> Response:
        collection = selectors.get_collection_for(user_of(request),
                                                  collection_id=_collection_id(collection_id))
        return Response(CollectionSerializer(collection).data)

    @extend_schema(operation_id="me_collections_update", summary="Rename a collection",
                   parameters=[COLLECTION_ID], request=CollectionInputSerializer,
                   responses={200: CollectionSerializer, **errors(400, 401, 404, 409, 429)},
                   tags=TAGS)
    def patch(self, request: Request, collection_id: str) -> Response:
        data = CollectionInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        pk = _collection_id(collection_id)
        services.collection_rename(owner=user_of(request), collection_id=pk,
                                   name=data.validated_data["name"])
        collection = selectors.get_collection_for(user_of(request), collection_id=pk)
        return Response(CollectionSerializer(collection).data)

    @extend_schema(operation_id="me_collections_destroy",
                   summary="Delete a collection (its posts stay in your favourites)",
                   parameters=[COLLECTION_ID], responses={204: None, **errors(401, 404, 429)},
                   tags=TAGS)
    def delete(self, request: Request, collection_id: str) -> Response:
        services.collection_delete(
            owner=user_of(request), collection_id=_collection_id(collection_id)
        )
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- settings -------------------------------------------------------------------------------------


class EngagementSettingsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema_serializer(component_name="EngagementSettings")
    class Serializer(serializers.Serializer[Any]):
        show_liked_posts = serializers.BooleanField(
            help_text="Let people who can see your profile's content see the posts you liked.")

    @extend_schema(operation_id="me_engagement_settings_retrieve",
                   responses={200: Serializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        shown = selectors.shows_liked_posts(user_of(request))
        return Response(self.Serializer({"show_liked_posts": shown}).data)

    @extend_schema(operation_id="me_engagement_settings_update", request=Serializer,
                   responses={200: Serializer, **errors(400, 401, 429)}, tags=TAGS)
    def patch(self, request: Request) -> Response:
        data = self.Serializer(data=request.data)
        data.is_valid(raise_exception=True)
        prefs = services.engagement_settings_update(
            user=user_of(request), show_liked_posts=data.validated_data["show_liked_posts"])
        return Response(self.Serializer(prefs).data)
