"""Feed shapes: the post exactly as GET /api/v1/posts/<id> renders it, plus the viewer's
flags and a `reco` block (why it is here, where, which request)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from apps.content.api.serializers import PostSerializer
from apps.content.models import Post
from apps.core.api.schema import ErrorDocs
from apps.feed.candidates import SOURCES
from apps.feed.topics import TOPICS

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,64}$"


class RecoSerializer(serializers.Serializer[Any]):
    source = serializers.ChoiceField(  # type: ignore[assignment]
        choices=[*SOURCES, "following"],
        help_text="The candidate source credited for this post.")
    position = serializers.IntegerField(help_text="Position in the feed (0-based).")
    request_id = serializers.CharField(help_text="The feed request that served it.")


class ViewerFlagsSerializer(serializers.Serializer[Any]):
    liked = serializers.BooleanField()
    favourited = serializers.BooleanField()
    follows_author = serializers.BooleanField()


@extend_schema_serializer(component_name="FeedPost")
class FeedPostSerializer(PostSerializer):
    viewer = serializers.SerializerMethodField()
    reco = serializers.SerializerMethodField()

    def get_viewer(self, post: Post) -> dict[str, bool]:
        return {"liked": bool(getattr(post, "viewer_liked", False)),
                "favourited": bool(getattr(post, "viewer_favourited", False)),
                "follows_author": bool(getattr(post, "viewer_follows_author", False))}

    def get_reco(self, post: Post) -> dict[str, Any]:
        return dict(getattr(post, "feed_reco", {}))

    # Typed for the schema.
    get_viewer.__annotations__["return"] = ViewerFlagsSerializer
    get_reco.__annotations__["return"] = RecoSerializer


class FeedPageSerializer(serializers.Serializer[Any]):
    results = FeedPostSerializer(many=True)
    next = serializers.URLField(allow_null=True,
                                help_text="The next page's absolute URL, or null.")


class ForYouQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=20, default=8)
    cursor = serializers.CharField(required=False, max_length=2048)
    session_id = serializers.RegexField(
        SESSION_ID_PATTERN, required=False,
        help_text="Signed-out clients: a random id kept for the session (or the "
                  "`feed_session` cookie).")


class FollowingQuerySerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(min_value=1, max_value=20, default=8)
    cursor = serializers.CharField(required=False, max_length=2048)


class TopicSerializer(serializers.Serializer[Any]):
    key = serializers.CharField()
    label = serializers.CharField()  # type: ignore[assignment]
    hashtags = serializers.ListField(child=serializers.CharField())


class TopicListSerializer(serializers.Serializer[Any]):
    results = TopicSerializer(many=True)


class InterestsSerializer(serializers.Serializer[Any]):
    interests = serializers.ListField(
        child=serializers.ChoiceField(choices=list(TOPICS)), max_length=len(TOPICS),
        allow_empty=True, help_text="Topic keys from GET /api/v1/feed/interests.")


class NotInterestedSerializer(serializers.Serializer[Any]):
    post_id = serializers.CharField()  # type: ignore[assignment]
    recorded = serializers.BooleanField()


errors = ErrorDocs({
    400: "Invalid input (bad cursor, limit or session id, unknown interest).",
    404: "No such post, or not visible to you.",
})
