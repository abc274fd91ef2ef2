"""Thin views over apps.content.selectors (reads) and apps.content.services (writes).

Writes need a signed-in user (the project default, IsAuthenticatedOrReadOnly); reads are
open and filtered for the viewer by the selectors."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AnonymousUser
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import require_no_fields, user_of
from apps.accounts.models import User
from apps.content import selectors, services
from apps.content.api.serializers import (
    HashtagSerializer,
    IdField,
    PostSerializer,
    PublishField,
    SoundSerializer,
    errors,
)
from apps.content.models import CAPTION_MAX_LENGTH, Post
from apps.content.services.branding import SOURCE_AUTHOR, post_set_branded
from apps.core.idempotency import PARAMETER as IDEMPOTENCY_KEY
from apps.core.idempotency import idempotency_key
from apps.core.pagination import IdCursorPagination

POST_ID = OpenApiParameter("post_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The post's id (a string).")
SOUND_ID = OpenApiParameter("sound_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                            description="The sound's id (a string).")
HASHTAG = OpenApiParameter("name", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The tag, without '#'; case-insensitive.")
USERNAME = OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH,
                            description="Case-insensitive.")


def _viewer(request: Request) -> User | AnonymousUser:
    return request.user



def _render(request: Request, post_id: int) -> dict[str, Any]:
    post = selectors.get_post_detail_for(viewer=_viewer(request), post_id=post_id)
    return PostSerializer(post, context={"request": request}).data  # type: ignore[return-value]


class _PostSettingsInput(serializers.Serializer[Any]):
    caption = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False,
                                    max_length=CAPTION_MAX_LENGTH)
    visibility = serializers.ChoiceField(choices=Post.Visibility.choices, required=False)
    comment_policy = serializers.ChoiceField(choices=Post.CommentPolicy.choices, required=False)
    allow_duet = serializers.BooleanField(required=False)
    allow_stitch = serializers.BooleanField(required=False)
    allow_download = serializers.BooleanField(required=False)
    language = serializers.RegexField(
        r"^([A-Za-z]{2,3}(-[A-Za-z0-9]{2,8}){0,2})?$", required=False, allow_blank=True,
        max_length=16, help_text='A BCP 47 language tag such as "en" or "pt-BR"; "" if unknown.')
    cover_time_ms = serializers.IntegerField(required=False, allow_null=True, min_value=0,
                                             max_value=24 * 3600 * 1000)
    publish = PublishField(required=False)


# --- posts -----------------------------------------------------------------------------------


class PostCreateApi(APIView):
    @extend_schema_serializer(component_name="PostCreateInput")
    class InputSerializer(_PostSettingsInput):
        asset_id = IdField(help_text="Your upload's id (from the media endpoints).")
        sound_id = IdField(required=False, allow_null=True,
                           help_text="A library sound, or another post's sound if its owner "
                                     "allows reuse. Default: the upload's original sound.")
        sound_mix = serializers.ChoiceField(
            choices=Post.SoundMix.choices, required=False,
            help_text="With a chosen sound: keep, duck or mute the upload's own audio.")

    @extend_schema(
        operation_id="posts_create",
        summary="Post an upload: publish now, keep as a draft, or schedule",
        request=InputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={201: PostSerializer,
                   200: OpenApiResponse(PostSerializer, description=(
                       "A retry with an Idempotency-Key already used for this post: the "
                       "post it created.")),
                   **errors(400, 401, 403, 404, 409, 422, 429)},
        tags=["content"],
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key(request)
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        post, created = services.post_create_once(author=user_of(request), idempotency_key=key,
                                                  **serializer.validated_data)
        return Response(_render(request, post.pk),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class PostDetailApi(APIView):
    @extend_schema_serializer(component_name="PostUpdateInput")
    class InputSerializer(_PostSettingsInput):
        pass

    @extend_schema(
        operation_id="posts_retrieve",
        summary="A post, if you may see it",
        parameters=[POST_ID],
        responses={200: PostSerializer, **errors(404, 429)},
        tags=["content"],
    )
    def get(self, request: Request, post_id: str) -> Response:
        return Response(_render(request, selectors.parse_post_id(post_id)))

    @extend_schema(
        operation_id="posts_partial_update",
        summary="Edit your post's caption and settings; publish, re-schedule or draft it "
                "while it is not published",
        parameters=[POST_ID],
        request=InputSerializer,
        responses={200: PostSerializer, **errors(400, 401, 403, 404, 409, 429)},
        tags=["content"],
    )
    def patch(self, request: Request, post_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        post = services.post_update(user=user_of(request),
                                    post_id=selectors.parse_post_id(post_id),
                                    **serializer.validated_data)
        return Response(_render(request, post.pk))

    @extend_schema(
        operation_id="posts_destroy",
        summary="Delete your post",
        parameters=[POST_ID],
        responses={204: None, **errors(401, 403, 404, 429)},
        tags=["content"],
    )
    def delete(self, request: Request, post_id: str) -> Response:
        services.post_delete(user=user_of(request), post_id=selectors.parse_post_id(post_id))
        return Response(status=status.HTTP_204_NO_CONTENT)



class PostPinApi(APIView):
    @extend_schema(
        operation_id="posts_pin_create",
        summary="Pin your published post to your profile (at most three). Idempotent.",
        parameters=[POST_ID],
        request=None,
        responses={200: PostSerializer, **errors(400, 401, 403, 404, 409, 429)},
        tags=["content"],
    )
    def post(self, request: Request, post_id: str) -> Response:
        require_no_fields(request)
        post = services.post_pin(user=user_of(request), post_id=selectors.parse_post_id(post_id))
        return Response(_render(request, post.pk))

    @extend_schema(
        operation_id="posts_pin_destroy",
        summary="Unpin your post. Idempotent.",
        parameters=[POST_ID],
        responses={200: PostSerializer, **errors(401, 403, 404, 429)},
        tags=["content"],
    )
    def delete(self, request: Request, post_id: str) -> Response:
        post = services.post_unpin(user=user_of(request), post_id=selectors.parse_post_id(post_id))
        return Response(_render(request, post.pk))


class BrandedInputSerializer(serializers.Serializer[Any]):
    partner = serializers.CharField(allow_blank=True, max_length=200,
                                    help_text='The brand that paid for the post ("" removes '
                                              "your label).")


class PostBrandedApi(APIView):
    @extend_schema(
        operation_id="posts_branded_update",
        summary="Mark your post as branded content (a paid partnership) or remove your label.",
        description="The label reads “Paid partnership with @<partner>” wherever the post is "
                    "shown. A label put on by a marketplace deal or by moderators can't be "
                    "changed or removed (403 `branded_locked`).",
        parameters=[POST_ID],
        request=BrandedInputSerializer,
        responses={200: PostSerializer, **errors(400, 401, 403, 404, 429)},
        tags=["content"],
    )
    def put(self, request: Request, post_id: str) -> Response:
        body = BrandedInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        user = user_of(request)
        post = post_set_branded(post_id=selectors.parse_post_id(post_id),
                                partner=body.validated_data["partner"], source=SOURCE_AUTHOR,
                                author_id=user.pk)
        return Response(_render(request, post.pk))


# --- lists -----------------------------------------------------------------------------------


class _PostListApi(generics.ListAPIView):  # type: ignore[type-arg]
    pagination_class = IdCursorPagination
    serializer_class = PostSerializer

    def rows(self) -> Any:
        raise NotImplementedError

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Post.objects.none()
        return self.rows()


_LIST_ERRORS = errors(400, 403, 404, 429)


class UserPostsApi(_PostListApi):
    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        grid = selectors.get_profile_grid_for(viewer=_viewer(request),
                                              username=self.kwargs["username"])
        page = self.paginate_queryset(grid.posts) or []
        first_page = request.query_params.get("cursor") is None
        rows = [*(grid.pinned if first_page else []), *page]
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    @extend_schema(
        operation_id="users_posts_list",
        summary="A user's posts: pinned ones first (on the first page), then newest first",
        parameters=[USERNAME],
        responses={200: PostSerializer(many=True), **_LIST_ERRORS},
        tags=["content"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class HashtagApi(APIView):
    @extend_schema(
        operation_id="hashtags_retrieve",
        summary="A hashtag and how many published posts carry it",
        parameters=[HASHTAG],
        responses={200: HashtagSerializer, **errors(404, 429)},
        tags=["content"],
    )
    def get(self, request: Request, name: str) -> Response:
        return Response(HashtagSerializer(selectors.get_hashtag(name=name)).data)


class HashtagPostsApi(_PostListApi):
    def rows(self) -> Any:
        tag = selectors.get_hashtag(name=self.kwargs["name"])
        return selectors.hashtag_posts_for(viewer=_viewer(self.request), hashtag=tag)

    @extend_schema(
        operation_id="hashtags_posts_list",
        summary="Posts with this hashtag that you may see, newest first",
        parameters=[HASHTAG],
        responses={200: PostSerializer(many=True), **errors(400, 404, 429)},
        tags=["content"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class SoundApi(APIView):
    @extend_schema_serializer(component_name="SoundUpdateInput")
    class InputSerializer(serializers.Serializer[Any]):
        allow_reuse = serializers.BooleanField()

    @extend_schema(
        operation_id="sounds_retrieve",
        summary="A sound: a library track, or an original sound you may hear",
        parameters=[SOUND_ID],
        responses={200: SoundSerializer, **errors(404, 429)},
        tags=["content"],
    )
    def get(self, request: Request, sound_id: str) -> Response:
        sound = selectors.get_sound_for(viewer=_viewer(request), sound_id=sound_id)
        return Response(SoundSerializer(sound, context={"request": request}).data)

    @extend_schema(
        operation_id="sounds_partial_update",
        summary="Your original sound: let others use it, or stop them",
        parameters=[SOUND_ID],
        request=InputSerializer,
        responses={200: SoundSerializer, **errors(400, 401, 404, 429)},
        tags=["content"],
    )
    def patch(self, request: Request, sound_id: str) -> Response:
        serializer = self.InputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        sound = selectors.get_sound_for(viewer=user_of(request), sound_id=sound_id)
        services.sound_set_reuse(user=user_of(request), sound_id=sound.pk,
                                 allow_reuse=serializer.validated_data["allow_reuse"])
        sound = selectors.get_sound_for(viewer=user_of(request), sound_id=sound.pk)
        return Response(SoundSerializer(sound, context={"request": request}).data)


class SoundPostsApi(_PostListApi):
    def rows(self) -> Any:
        sound = selectors.get_sound_for(viewer=_viewer(self.request),
                                        sound_id=self.kwargs["sound_id"])
        return selectors.sound_posts_for(viewer=_viewer(self.request), sound=sound)

    @extend_schema(
        operation_id="sounds_posts_list",
        summary="Posts using this sound that you may see, newest first",
        parameters=[SOUND_ID],
        responses={200: PostSerializer(many=True), **errors(400, 404, 429)},
        tags=["content"],
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)
