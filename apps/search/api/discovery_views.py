"""Thin views: search history, suggestions, trending and discover (apps.search.discovery
reads, apps.search.services.history writes)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.accounts.api.request import user_of, viewer_of
from apps.core.api.schema import ErrorDocs
from apps.core.throttles import AnonReadThrottle
from apps.search import discovery, services
from apps.search.api.serializers import (
    SearchAccountItemSerializer,
    SearchSoundItemSerializer,
    SearchVideoItemSerializer,
)
from apps.search.api.views import SearchIpThrottle, SearchUserThrottle
from apps.search.models import SearchHistory

TAGS = ["search"]
errors = ErrorDocs({
    400: "Invalid input: a NUL character, invalid UTF-8 or a query over 200 characters "
         "(`query_too_long`).",
    401: "Sign in to keep a search history.",
    404: "No such search in your history.",
    429: "Too many requests: wait a moment.",
})
HISTORY_ID = OpenApiParameter("history_id", OpenApiTypes.STR, OpenApiParameter.PATH,
                              description="The history entry's id (a string).")


class HistoryEntrySerializer(serializers.Serializer[SearchHistory]):
    id = serializers.CharField()
    query = serializers.CharField()
    created_at = serializers.DateTimeField(source="searched_at",
                                           help_text="When it was last searched.")


class HistoryListSerializer(serializers.Serializer[Any]):
    results = HistoryEntrySerializer(many=True, help_text="Newest first, at most 20.")


class HistoryApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="search_history_list", summary="Your recent searches",
                   responses={200: HistoryListSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        rows = discovery.history_for(user=user_of(request))
        return Response(HistoryListSerializer({"results": rows}).data)

    @extend_schema(operation_id="search_history_clear", summary="Clear your search history",
                   request=None,
                   responses={204: OpenApiResponse(description="Cleared."), **errors(401, 429)},
                   tags=TAGS)
    def delete(self, request: Request) -> Response:
        services.history_clear(user=user_of(request))
        return Response(status=204)


class HistoryEntryApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="search_history_delete", summary="Delete one recent search",
                   parameters=[HISTORY_ID], request=None,
                   responses={204: OpenApiResponse(description="Deleted."),
                              **errors(401, 404, 429)}, tags=TAGS)
    def delete(self, request: Request, history_id: str) -> Response:
        services.history_delete(user=user_of(request), history_id=history_id)
        return Response(status=204)


class SuggestionSerializer(serializers.Serializer[discovery.Suggestion]):
    query = serializers.CharField()
    kind = serializers.ChoiceField(choices=list(discovery.SUGGESTION_KINDS),
                                   help_text="Your own past search, a trending search, or a "
                                             "hashtag or account name.")


class SuggestionListSerializer(serializers.Serializer[Any]):
    results = SuggestionSerializer(many=True, help_text="At most 8.")


class SuggestionQuerySerializer(serializers.Serializer[Any]):
    q = serializers.CharField(required=False, allow_blank=True, max_length=200,
                              help_text="What was typed so far.")


class SuggestionsApi(APIView):
    permission_classes = [AllowAny]
    # as-you-type, like the search itself: the search budgets per user and per IP
    throttle_classes: list[type[BaseThrottle]] = [
        AnonReadThrottle, SearchUserThrottle, SearchIpThrottle]

    @extend_schema(operation_id="search_suggestions",
                   summary="Suggested searches for what was typed",
                   description="Your past searches starting with it first, then trending "
                               "searches, then hashtag and account names from the index.",
                   parameters=[SuggestionQuerySerializer],
                   responses={200: SuggestionListSerializer, **errors(400, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        params = services.search_params(
            {"q": request.query_params.get("q", "")},
            raw_query_string=request.META.get("QUERY_STRING", ""))
        rows = discovery.suggestions_for(viewer=viewer_of(request), prefix=params.q)
        return Response(SuggestionListSerializer({"results": rows}).data)


class TrendingSearchSerializer(serializers.Serializer[Any]):
    query = serializers.CharField()
    rank = serializers.IntegerField(help_text="1 is the most trending.")


class HashtagSummarySerializer(serializers.Serializer[Any]):
    name = serializers.CharField()
    post_count = serializers.IntegerField(source="posts_count")
    url = serializers.SerializerMethodField()

    def get_url(self, tag: Any) -> str:
        return f"/tag/{tag.name}"


class TrendingSerializer(serializers.Serializer[Any]):
    searches = TrendingSearchSerializer(many=True)
    hashtags = HashtagSummarySerializer(many=True)


class TrendingApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="search_trending", summary="Trending searches and hashtags",
                   description="Rising over the last 24 hours against the week before, "
                               "searched or viewed by enough different people.",
                   responses={200: TrendingSerializer, **errors(429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        viewer = viewer_of(request)
        body = {"searches": [{"query": term, "rank": i}
                             for i, term in enumerate(discovery.trending_searches(), 1)],
                "hashtags": discovery.trending_hashtags(viewer=viewer)}
        return Response(TrendingSerializer(body).data)


class DiscoverHashtagSerializer(HashtagSummarySerializer):
    videos = SearchVideoItemSerializer(many=True, help_text="Its most viewed videos you may "
                                                            "see (up to 6).")


class DiscoverSerializer(serializers.Serializer[Any]):
    hashtags = DiscoverHashtagSerializer(many=True)
    sounds = SearchSoundItemSerializer(many=True, help_text="Most used in the last 7 days.")
    creators = SearchAccountItemSerializer(many=True)


class DiscoverApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="discover",
                   summary="Discover: trending hashtags with their top videos, rising sounds, "
                           "suggested creators",
                   responses={200: DiscoverSerializer, **errors(429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        page = discovery.discover_for(viewer=viewer_of(request))
        hashtags = []
        for tag, videos in page.hashtags:
            tag.videos = videos  # type: ignore[attr-defined]
            hashtags.append(tag)
        return Response(DiscoverSerializer(
            {"hashtags": hashtags, "sounds": page.sounds, "creators": page.creators}).data)
