"""Creator analytics: thin views over apps.analytics.selectors."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_serializer
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import user_of
from apps.analytics import selectors
from apps.analytics.hooks import earnings_for
from apps.core.api.schema import error_responses
from apps.events.schema import PLAY_SOURCES

PERIODS = {"7d": 7, "28d": 28}
EARNINGS_NOT_AVAILABLE = ("Earnings and RPM are not available yet: SwipeMe has no creator "
                          "monetization so far.")
TAGS = ["analytics"]
PERIOD = OpenApiParameter("period", OpenApiTypes.STR, OpenApiParameter.QUERY,
                          enum=list(PERIODS), description="The last 7 or 28 UTC days, today "
                          "included (default 7d).")
POST_ID = OpenApiParameter("post_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                           description="The post's id (a string).")


class PeriodSerializer(serializers.Serializer[Any]):
    period = serializers.ChoiceField(choices=list(PERIODS), default="7d")


def _period(request: Request) -> tuple[str, int]:
    data = PeriodSerializer(data=request.query_params)
    data.is_valid(raise_exception=True)
    period = str(data.validated_data["period"])
    return period, PERIODS[period]


def _percent(fraction: float | None) -> float | None:
    return None if fraction is None else round(fraction * 100, 2)


class DaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    views = serializers.IntegerField()
    watch_time_ms = serializers.IntegerField(source="watch_ms")


class CreatorDaySerializer(DaySerializer):
    followers_gained = serializers.IntegerField()
    followers_lost = serializers.IntegerField()


class TrafficSourceSerializer(serializers.Serializer[Any]):
    source = serializers.ChoiceField(  # type: ignore[assignment]  # a field, not Field.source
        choices=[*PLAY_SOURCES, "not_reported"],
        help_text="Where plays started; not_reported: the client named no source.")
    views = serializers.IntegerField()
    percent = serializers.FloatField(allow_null=True, help_text="Share of the period's views "
                                     "(0-100); null without views.")


class AudienceGroupSerializer(serializers.Serializer[Any]):
    key = serializers.CharField(help_text="An ISO 3166 country code or an age band; 'other' "
                                "gathers the groups too small to show and the unknown.")
    viewers = serializers.IntegerField()
    percent = serializers.FloatField()


class AudienceSerializer(serializers.Serializer[Any]):
    min_count = serializers.IntegerField(help_text="A group is shown only with at least this "
                                         "many viewers, the audience only from this many.")
    viewers = serializers.IntegerField(allow_null=True, help_text="Distinct signed-in viewers "
                                       "in the period; null when fewer than min_count.")
    countries = AudienceGroupSerializer(many=True)
    age_bands = AudienceGroupSerializer(many=True)


class EarningsSerializer(serializers.Serializer[Any]):
    available = serializers.BooleanField()
    message = serializers.CharField(allow_blank=True)
    currency = serializers.CharField(required=False, help_text="US dollars (when available).")
    earned_minor = serializers.IntegerField(required=False, help_text="Your share earned in "
                                            "the period, in cents.")
    rpm_minor = serializers.IntegerField(required=False, allow_null=True, help_text="Earnings "
                                         "per 1,000 views, in cents; null without views.")


class TopPostSerializer(serializers.Serializer[Any]):
    post_id = serializers.CharField()
    views = serializers.IntegerField()
    watch_time_ms = serializers.IntegerField(source="watch_ms")
    completions = serializers.IntegerField()
    likes = serializers.IntegerField()
    caption = serializers.CharField(allow_blank=True)
    status = serializers.CharField(allow_blank=True, help_text="The post's state (published, "
                                   "removed, ...); empty if it was deleted.")
    published_at = serializers.DateTimeField(allow_null=True)


@extend_schema_serializer(component_name="CreatorAnalytics")
class CreatorAnalyticsSerializer(serializers.Serializer[Any]):
    period = serializers.CharField()
    since = serializers.DateField()
    until = serializers.DateField()
    impressions = serializers.IntegerField()
    views = serializers.IntegerField(help_text="Plays started.")
    watch_time_ms = serializers.IntegerField()
    average_watch_percent = serializers.FloatField(
        allow_null=True, help_text="Mean share of the video watched per ended play (0-100).")
    completions = serializers.IntegerField()
    likes = serializers.IntegerField()
    comments = serializers.IntegerField()
    shares = serializers.IntegerField()
    followers_gained = serializers.IntegerField(help_text="Follows sent from your videos or "
                                                "profile, as clients reported them.")
    followers_lost = serializers.IntegerField(help_text="Unfollows, as clients reported "
                                              "them.")
    daily = CreatorDaySerializer(many=True)
    top_posts = TopPostSerializer(many=True, help_text="Your 10 most viewed posts in the "
                                  "period.")
    traffic_sources = TrafficSourceSerializer(many=True)
    audience = AudienceSerializer()
    earnings = EarningsSerializer(help_text="Earnings and RPM in the period (GET "
                                  "/api/v1/me/earnings has the detail).")


class RetentionPointSerializer(serializers.Serializer[Any]):
    at_percent = serializers.IntegerField(help_text="A point in the video (0-100).")
    viewers_percent = serializers.FloatField(help_text="Share of ended plays that reached it.")


class RetentionSecondSerializer(serializers.Serializer[Any]):
    second = serializers.IntegerField()
    viewers = serializers.IntegerField(help_text="Ended plays that reached this second.")
    viewers_percent = serializers.FloatField(help_text="The same as a share of ended plays.")


class PostTotalsSerializer(serializers.Serializer[Any]):
    impressions = serializers.IntegerField()
    views = serializers.IntegerField(source="plays")
    watch_time_ms = serializers.IntegerField(source="watch_ms")
    completions = serializers.IntegerField()
    rewatches = serializers.IntegerField()
    skips = serializers.IntegerField()
    likes = serializers.IntegerField()
    comments = serializers.IntegerField()
    shares = serializers.IntegerField()
    favourites = serializers.IntegerField()
    follows = serializers.IntegerField()
    not_interested = serializers.IntegerField()
    reports = serializers.IntegerField()
    rebuffer_count = serializers.IntegerField()
    rebuffer_ms = serializers.IntegerField()


@extend_schema_serializer(component_name="PostAnalytics")
class PostAnalyticsSerializer(serializers.Serializer[Any]):
    post_id = serializers.CharField()
    period = serializers.CharField()
    since = serializers.DateField()
    until = serializers.DateField()
    totals = PostTotalsSerializer()
    average_watch_percent = serializers.FloatField(allow_null=True)
    average_ttff_ms = serializers.FloatField(allow_null=True,
                                             help_text="Mean time to first frame (QoE).")
    daily = DaySerializer(many=True)
    retention = RetentionPointSerializer(many=True, help_text="All-time retention curve "
                                         "(every 5 %); empty before the first ended play.")
    retention_seconds = RetentionSecondSerializer(
        many=True, help_text="All-time viewers still watching at each second; empty before "
        "the first ended play.")


class MyAnalyticsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_analytics_retrieve", summary="Your creator analytics",
                   parameters=[PERIOD],
                   responses={200: CreatorAnalyticsSerializer, **error_responses(400, 401, 429)},
                   tags=TAGS)
    def get(self, request: Request) -> Response:
        period, days = _period(request)
        creator_id = user_of(request).pk
        summary = selectors.creator_summary_for(creator_id=creator_id, days=days)
        audience = selectors.audience_for(creator_id=creator_id, days=days)
        return Response(CreatorAnalyticsSerializer({
            "period": period, "since": summary.since, "until": summary.until,
            "impressions": summary.impressions, "views": summary.views,
            "watch_time_ms": summary.watch_ms,
            "average_watch_percent": _percent(summary.average_watch_fraction),
            "completions": summary.completions, "likes": summary.likes,
            "comments": summary.comments, "shares": summary.shares,
            "followers_gained": summary.followers_gained,
            "followers_lost": summary.followers_lost, "daily": summary.daily,
            "top_posts": summary.top_posts,
            "traffic_sources": [
                {"source": source, "views": views,
                 "percent": round(100 * views / summary.views, 1) if summary.views else None}
                for source, views in summary.sources.items()],
            "audience": audience,
            "earnings": earnings_for(creator_id=creator_id, days=days, views=summary.views,
                                     unavailable=EARNINGS_NOT_AVAILABLE),
        }).data)


class PostAnalyticsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="posts_analytics_retrieve",
                   summary="A post's analytics (its creator only)", parameters=[POST_ID, PERIOD],
                   responses={200: PostAnalyticsSerializer,
                              **error_responses(400, 401, 403, 404, 429, descriptions={
                                  403: "Not your post."})},
                   tags=TAGS)
    def get(self, request: Request, post_id: str) -> Response:
        period, days = _period(request)
        found = selectors.get_post_analytics_for(viewer=user_of(request), post_id=post_id,
                                                 days=days)
        return Response(PostAnalyticsSerializer({
            "post_id": found.post_id, "period": period, "since": found.since,
            "until": found.until, "totals": found.totals,
            "average_watch_percent": _percent(found.average_watch_fraction),
            "average_ttff_ms": found.average_ttff_ms, "daily": found.daily,
            "retention": [{"at_percent": round(p["at"] * 100),
                           "viewers_percent": round(p["fraction"] * 100, 2)}
                          for p in found.retention],
            "retention_seconds": [{"second": p["second"], "viewers": p["viewers"],
                                   "viewers_percent": round(p["fraction"] * 100, 2)}
                                  for p in found.retention_seconds],
        }).data)
