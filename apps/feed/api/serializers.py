"""Feed shapes: the post exactly as GET /api/v1/posts/<id> renders it, plus the viewer's
flags and a `reco` block (why it is here, where, which request)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import (
    PolymorphicProxySerializer,
    extend_schema_field,
    extend_schema_serializer,
)
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
    type = serializers.SerializerMethodField(help_text='"post" (For You also carries "ad" items).')
    viewer = serializers.SerializerMethodField()
    reco = serializers.SerializerMethodField()

    @extend_schema_field(serializers.CharField(help_text='"post"'))
    def get_type(self, post: Post) -> str:
        return "post"

    def get_viewer(self, post: Post) -> dict[str, bool]:
        return {"liked": bool(getattr(post, "viewer_liked", False)),
                "favourited": bool(getattr(post, "viewer_favourited", False)),
                "follows_author": bool(getattr(post, "viewer_follows_author", False))}

    def get_reco(self, post: Post) -> dict[str, Any]:
        return dict(getattr(post, "feed_reco", {}))

    # Typed for the schema.
    get_viewer.__annotations__["return"] = ViewerFlagsSerializer
    get_reco.__annotations__["return"] = RecoSerializer


class AdRecoSerializer(serializers.Serializer[Any]):
    source = serializers.CharField(help_text='"ad"')  # type: ignore[assignment]
    position = serializers.IntegerField(
        help_text="The organic position it was inserted before (0-based).")
    request_id = serializers.CharField(help_text="The feed request that served it.")


@extend_schema_serializer(component_name="FeedAd")
class FeedAdSerializer(serializers.Serializer[Any]):
    """An ad in For You, rendered by the ads app (feed.hooks.ad_slots) in this shape."""

    type = serializers.CharField(help_text='"ad"')
    id = serializers.CharField(help_text="The ad's id.")
    token = serializers.CharField(
        help_text="The signed served-ad token: send it with every measurement event "
                  "(POST /api/v1/ads/events); nothing else the client sends is trusted.")
    sponsored = serializers.BooleanField(help_text="Always true: show the label.")
    label = serializers.CharField(help_text='The disclosure to show ("Sponsored").')  # type: ignore[assignment]
    display_name = serializers.CharField(help_text="The advertiser's name as shown.")
    cta = serializers.CharField(help_text="The call to action's code (learn_more, shop_now...).")
    cta_label = serializers.CharField(help_text="The call to action in words, for the button.")
    click_url = serializers.URLField(
        help_text="Open this on a tap of the button: it records the click and redirects "
                  "to the landing page.")
    landing_domain = serializers.CharField(help_text="Where the click leads (disclosure).")
    playback = serializers.JSONField(
        help_text="Player URLs of the ad's video, as a post's `playback` (HLS, MP4, poster...).")
    reco = AdRecoSerializer()


class FeedPageSerializer(serializers.Serializer[Any]):
    results = PolymorphicProxySerializer(
        component_name="FeedItem",
        serializers={"post": FeedPostSerializer, "ad": FeedAdSerializer},
        resource_type_field_name="type",
        many=True,
    )
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
