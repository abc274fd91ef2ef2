"""Thin views over apps.comments.selectors and apps.comments.services. Posts are looked up
with `apps.content.selectors.get_post_for` and comments with `get_comment_for`: what the
viewer may not see is a 404."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import require_no_fields, user_of, viewer_of
from apps.comments import selectors, services
from apps.comments.api import pagination
from apps.comments.models import MAX_COMMENT_LENGTH, Comment, CommenterBan, CommentFilter
from apps.content.selectors import get_post_for
from apps.core.api.schema import ErrorDocs
from apps.core.errors import NotFoundError
from apps.core.idempotency import PARAMETER as IDEMPOTENCY_KEY
from apps.core.idempotency import idempotency_key
from apps.core.ids import id_or_404
from apps.core.pagination import IdCursorPagination
from apps.social.api.serializers import UserSummarySerializer
from apps.social.selectors import get_graph_target_for

TAGS = ["comments"]
POST_ID = OpenApiParameter("post_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The post's id (a string).")
COMMENT_ID = OpenApiParameter("comment_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                              description="The comment's id (a string).")
CURSOR = OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next`.")
PAGE_SIZE = OpenApiParameter("page_size", OpenApiTypes.INT,
                             description=f"1 to {pagination.MAX_PAGE_SIZE}.")
SORT = OpenApiParameter("sort", OpenApiTypes.STR, enum=["top", "new"],
                        description="`top` (likes, recency, liked by the creator) or `new`.")

errors = ErrorDocs({
    400: "Invalid input (malformed JSON, too long, bad cursor).",
    403: "Not allowed: comments off (`comments_off`), friends only (`comments_friends_only`), "
         "restricted by the creator (`commenting_restricted`), not yours.",
    404: "No such post or comment, or not visible to you.",
    409: "Conflict (post not published, comment not waiting for review).",
    422: "The Idempotency-Key was already used for a different comment "
         "(`idempotency_key_reused`).",
})





class _ReplyToSerializer(serializers.Serializer[Any]):
    id = serializers.CharField()
    username = serializers.CharField()


@extend_schema_serializer(component_name="Comment")
class CommentSerializer(serializers.Serializer[Comment]):
    id = serializers.CharField(help_text="64-bit id, as a string.")
    post_id = serializers.CharField()
    parent_id = serializers.CharField(allow_null=True,
                                      help_text="The top-level comment, for a reply.")
    author = UserSummarySerializer()
    reply_to = _ReplyToSerializer(source="reply_to_user", allow_null=True,
                                  help_text="Whom a reply to a reply answers.")
    text = serializers.CharField()
    status = serializers.ChoiceField(
        choices=["visible", "held", "hidden"],
        help_text="`held` (waiting for the creator's review) and `hidden` are shown only to "
                  "the comment's author and the post's creator.")
    is_pinned = serializers.BooleanField()
    liked_by_creator = serializers.BooleanField()
    liked_by_me = serializers.BooleanField(default=False)
    author_is_subscriber = serializers.BooleanField(
        default=False, help_text="The author has a paid subscription to the post's creator "
                                 "(show a subscriber badge).")
    likes_count = serializers.IntegerField()
    replies_count = serializers.IntegerField()
    created_at = serializers.DateTimeField()


CommentPageSerializer = inline_serializer("CommentPage", {
    "next": serializers.URLField(allow_null=True),
    "results": CommentSerializer(many=True),
})


def _page(request: Request, qs: Any, *, kind: str) -> Response:
    rows, next_url = pagination.paginate(qs, request, kind=kind)
    return Response({"next": next_url,
                     "results": CommentSerializer(rows, many=True).data})  # type: ignore[arg-type]


class PostCommentsApi(APIView):
    def get_permissions(self) -> list[Any]:
        return [AllowAny()] if self.request.method == "GET" else [IsAuthenticated()]

    @extend_schema_serializer(component_name="CommentCreateInput")
    class InputSerializer(serializers.Serializer[Any]):
        text = serializers.CharField(max_length=MAX_COMMENT_LENGTH, trim_whitespace=True)
        parent_id = serializers.RegexField(r"^[0-9]{1,19}$", required=False, allow_null=True,
                                           help_text="Reply to this comment (a string).")

    @extend_schema(operation_id="posts_comments_list",
                   summary="A post's top-level comments (pinned first), with replies on demand",
                   parameters=[POST_ID, SORT, CURSOR, PAGE_SIZE],
                   responses={200: CommentPageSerializer, **errors(400, 404, 429)}, tags=TAGS)
    def get(self, request: Request, post_id: str) -> Response:
        sort = request.query_params.get("sort", "top")
        if sort not in ("top", "new"):
            raise serializers.ValidationError({"sort": ["Use top or new."]})
        post = get_post_for(viewer=viewer_of(request), post_id=post_id)
        return _page(request, selectors.comments_for(viewer_of(request), post=post), kind=sort)

    @extend_schema(operation_id="posts_comments_create",
                   summary="Comment on a post, or reply to a comment (`parent_id`)",
                   parameters=[POST_ID, IDEMPOTENCY_KEY], request=InputSerializer,
                   responses={201: CommentSerializer,
                              200: OpenApiResponse(CommentSerializer, description=(
                                  "A retry with an Idempotency-Key already used for this "
                                  "comment: the comment it created.")),
                              **errors(400, 401, 403, 404, 409, 422, 429)},
                   tags=TAGS)
    def post(self, request: Request, post_id: str) -> Response:
        key = idempotency_key(request)
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        me = user_of(request)
        post = get_post_for(viewer=me, post_id=post_id)
        parent = None
        raw_parent = data.validated_data.get("parent_id")
        if raw_parent:
            parent = selectors.get_comment_for(me, comment_id=raw_parent)
            if parent.post_id != post.pk:
                raise NotFoundError(services.COMMENT_NOT_FOUND)
        comment, created = services.comment_create_once(
            author=me, post=post, parent=parent, text=data.validated_data["text"],
            idempotency_key=key)
        row = selectors.comment_row(me, comment_id=comment.pk)
        return Response(CommentSerializer(row).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CommentRepliesApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="comments_replies_list",
                   summary="Replies to a top-level comment, oldest first",
                   parameters=[COMMENT_ID, CURSOR, PAGE_SIZE],
                   responses={200: CommentPageSerializer, **errors(400, 404, 429)}, tags=TAGS)
    def get(self, request: Request, comment_id: str) -> Response:
        comment = selectors.get_comment_for(viewer_of(request), comment_id=comment_id)
        return _page(request, selectors.replies_for(viewer_of(request), comment=comment),
                     kind="replies")


class CommentApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="comments_destroy",
                   summary="Delete a comment (its author or the post's creator). Idempotent.",
                   parameters=[COMMENT_ID], responses={204: None, **errors(401, 403, 404, 429)},
                   tags=TAGS)
    def delete(self, request: Request, comment_id: str) -> Response:
        comment = selectors.get_comment_for(user_of(request), comment_id=comment_id)
        services.comment_delete(actor=user_of(request), comment=comment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentLikeApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="comments_like_create", summary="Like a comment. Idempotent.",
                   parameters=[COMMENT_ID], request=None,
                   responses={204: None, **errors(400, 401, 404, 429)}, tags=TAGS)
    def post(self, request: Request, comment_id: str) -> Response:
        require_no_fields(request)
        comment = selectors.get_comment_for(user_of(request), comment_id=comment_id)
        services.comment_like_create(user=user_of(request), comment=comment)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="comments_like_destroy", summary="Unlike a comment. Idempotent.",
                   parameters=[COMMENT_ID], responses={204: None, **errors(401, 404, 429)},
                   tags=TAGS)
    def delete(self, request: Request, comment_id: str) -> Response:
        pk = selectors.parse_comment_id(comment_id)
        services.comment_like_delete(user=user_of(request), comment_id=pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class _CreatorActionApi(APIView):
    """POST does the action, DELETE undoes it (where it can be undone). Creator only."""

    permission_classes = [IsAuthenticated]

    def _comment(self, request: Request, comment_id: str) -> Comment:
        return selectors.get_comment_for(user_of(request), comment_id=comment_id)


class CommentPinApi(_CreatorActionApi):
    @extend_schema(operation_id="comments_pin_create",
                   summary="Pin a top-level comment on your post (replaces the pinned one)",
                   parameters=[COMMENT_ID], request=None,
                   responses={204: None, **errors(400, 401, 403, 404, 429)}, tags=TAGS)
    def post(self, request: Request, comment_id: str) -> Response:
        require_no_fields(request)
        services.comment_pin(creator=user_of(request), comment=self._comment(request, comment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="comments_pin_destroy", summary="Unpin a comment",
                   parameters=[COMMENT_ID], responses={204: None, **errors(401, 403, 404, 429)},
                   tags=TAGS)
    def delete(self, request: Request, comment_id: str) -> Response:
        services.comment_unpin(creator=user_of(request), comment=self._comment(request, comment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentHideApi(_CreatorActionApi):
    @extend_schema(operation_id="comments_hide_create",
                   summary="Hide a comment on your post (its author still sees it)",
                   parameters=[COMMENT_ID], request=None,
                   responses={204: None, **errors(400, 401, 403, 404, 429)}, tags=TAGS)
    def post(self, request: Request, comment_id: str) -> Response:
        require_no_fields(request)
        services.comment_hide(creator=user_of(request), comment=self._comment(request, comment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="comments_hide_destroy", summary="Show a hidden comment again",
                   parameters=[COMMENT_ID], responses={204: None, **errors(401, 403, 404, 429)},
                   tags=TAGS)
    def delete(self, request: Request, comment_id: str) -> Response:
        comment = self._comment(request, comment_id)
        services.comment_unhide(creator=user_of(request), comment=comment)
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentApproveApi(_CreatorActionApi):
    @extend_schema(operation_id="comments_approve",
                   summary="Publish a comment your keyword filter held",
                   parameters=[COMMENT_ID], request=None,
                   responses={204: None, **errors(400, 401, 403, 404, 409, 429)}, tags=TAGS)
    def post(self, request: Request, comment_id: str) -> Response:
        require_no_fields(request)
        services.held_comment_approve(creator=user_of(request),
                                      comment=self._comment(request, comment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class CommentRejectApi(_CreatorActionApi):
    @extend_schema(operation_id="comments_reject",
                   summary="Reject a comment your keyword filter held",
                   parameters=[COMMENT_ID], request=None,
                   responses={204: None, **errors(400, 401, 403, 404, 409, 429)}, tags=TAGS)
    def post(self, request: Request, comment_id: str) -> Response:
        require_no_fields(request)
        services.held_comment_reject(creator=user_of(request),
                                     comment=self._comment(request, comment_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class HeldCommentsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_held_comments_list",
                   summary="Comments on your posts waiting for your review, newest first",
                   parameters=[CURSOR, PAGE_SIZE],
                   responses={200: CommentPageSerializer, **errors(400, 401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return _page(request, selectors.held_comments_for(user_of(request)), kind="new")


# --- keyword filter and bans -------------------------------------------------------------------


@extend_schema_serializer(component_name="CommentFilter")
class FilterSerializer(serializers.Serializer[CommentFilter]):
    id = serializers.CharField(read_only=True)
    keyword = serializers.CharField(max_length=services.MAX_KEYWORD_LENGTH)
    created_at = serializers.DateTimeField(read_only=True)


class CommentFilterListApi(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination
    serializer_class = FilterSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return CommentFilter.objects.none()
        return selectors.comment_filters_for(user_of(self.request))

    @extend_schema(operation_id="me_comment_filters_list",
                   summary="Your comment keyword filter",
                   responses={200: FilterSerializer(many=True), **errors(400, 401, 429)},
                   tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)

    @extend_schema(operation_id="me_comment_filters_create",
                   summary="Hold comments containing this keyword for your review",
                   request=FilterSerializer,
                   responses={201: FilterSerializer, **errors(400, 401, 429)}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = FilterSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        keyword = services.comment_filter_create(creator=user_of(request),
                                                 keyword=data.validated_data["keyword"])
        return Response(FilterSerializer(keyword).data, status=status.HTTP_201_CREATED)


class CommentFilterApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_comment_filters_destroy", summary="Remove a keyword",
                   parameters=[OpenApiParameter("filter_id", OpenApiTypes.STR,
                                                OpenApiParameter.PATH)],
                   responses={204: None, **errors(401, 404, 429)}, tags=TAGS)
    def delete(self, request: Request, filter_id: str) -> Response:
        services.comment_filter_delete(creator=user_of(request),
                                       filter_id=id_or_404(filter_id, "Keyword not found."))
        return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema_serializer(component_name="CommenterBan")
class BanSerializer(serializers.Serializer[CommenterBan]):
    id = serializers.CharField()
    created_at = serializers.DateTimeField()
    user = UserSummarySerializer()


USERNAME = OpenApiParameter("username", OpenApiTypes.STR, OpenApiParameter.PATH)


class CommenterBanListApi(generics.ListAPIView):  # type: ignore[type-arg]
    permission_classes = [IsAuthenticated]
    pagination_class = IdCursorPagination
    serializer_class = BanSerializer

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return CommenterBan.objects.none()
        return selectors.commenter_bans_for(user_of(self.request))

    @extend_schema(operation_id="me_commenter_bans_list",
                   summary="People you removed from commenting on your posts",
                   responses={200: BanSerializer(many=True), **errors(400, 401, 429)}, tags=TAGS)
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return super().get(request, *args, **kwargs)


class CommenterBanApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_commenter_bans_create",
                   summary="Remove someone from commenting on your posts. Idempotent.",
                   parameters=[USERNAME], request=None,
                   responses={204: None, **errors(400, 401, 404, 429)}, tags=TAGS)
    def post(self, request: Request, username: str) -> Response:
        require_no_fields(request)
        me = user_of(request)
        target = get_graph_target_for(me, username=username, reveal_blockers=True)
        services.commenter_ban_create(creator=me, user=target)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(operation_id="me_commenter_bans_destroy",
                   summary="Let someone comment on your posts again. Idempotent.",
                   parameters=[USERNAME], responses={204: None, **errors(401, 404, 429)},
                   tags=TAGS)
    def delete(self, request: Request, username: str) -> Response:
        me = user_of(request)
        target = get_graph_target_for(me, username=username, reveal_blockers=True)
        services.commenter_ban_delete(creator=me, user_id=target.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)
