"""Thin views over apps.search.services (the search use case)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.accounts.api.request import viewer_of
from apps.core.throttles import AnonReadThrottle, CountedRateThrottle, PerCallerThrottle
from apps.search import services
from apps.search.api.serializers import SearchAnswerSerializer, SearchQuerySerializer, errors

TAGS = ["search"]


class SearchUserThrottle(PerCallerThrottle):
    """Searches per signed-in user (signed out: per IP, as the IP budget below)."""

    scope = "search_user"

    def get_rate(self) -> str:
        return str(settings.SEARCH_THROTTLE_USER_RATE)


class SearchIpThrottle(CountedRateThrottle):
    """Searches per client IP, signed in or not: many accounts behind one scraper still
    share one budget."""

    scope = "search_ip"

    def get_rate(self) -> str:
        return str(settings.SEARCH_THROTTLE_IP_RATE)

    def get_cache_key(self, request: Request, view: APIView) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class SearchApi(APIView):
    permission_classes = [AllowAny]
    throttle_classes: list[type[BaseThrottle]] = [
        AnonReadThrottle, SearchUserThrottle, SearchIpThrottle]

    @extend_schema(
        operation_id="search",
        summary="Search accounts, videos, sounds, lives on air and hashtags (as you type, "
                "or in full)",
        description="Results are only what the viewer may see now. A blocked search term "
                    "answers no results and a `notice` (code `safety`) with help resources. "
                    "The `live` tab (and up to two results on Top) lists lives on air whose "
                    "host or title the query names, linking to their player page.",
        parameters=[SearchQuerySerializer],
        responses={200: SearchAnswerSerializer, **errors(400, 429)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        params = services.search_params(request.query_params,
                                        raw_query_string=request.META.get("QUERY_STRING", ""))
        # The viewer's profile language wins (services); signed out, the browser's first.
        language = request.headers.get("Accept-Language", "").split(",")[0].split(";")[0]
        answer = services.search(viewer=viewer_of(request), params=params,
                                 language=language.strip()[:16])
        return Response(SearchAnswerSerializer(answer).data)
