"""Thin views over apps.feed.serving (reads) and apps.feed.services (writes)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.accounts.api.request import require_no_fields, user_of, viewer_of
from apps.core.errors import ApplicationError
from apps.feed import services, serving
from apps.feed.api.serializers import (
    SESSION_ID_PATTERN,
    FeedPageSerializer,
    FeedPostSerializer,
    FollowingQuerySerializer,
    ForYouQuerySerializer,
    InterestsSerializer,
    NotInterestedSerializer,
    TopicListSerializer,
    errors,
)
from apps.feed.cursors import FollowingCursor, ForYouCursor
from apps.feed.models import UserInterests
from apps.feed.topics import TOPICS

TAGS = ["feed"]
SESSION_COOKIE = "feed_session"


_IOS = re.compile(r"iPhone|iPad|iPod|SwipeMe-iOS", re.IGNORECASE)
_ANDROID = re.compile(r"Android", re.IGNORECASE)
_COUNTRY_HEADERS = ("HTTP_CF_IPCOUNTRY", "HTTP_X_COUNTRY_CODE")
# The subdivision part of ISO 3166-2 ("CA" of US-CA): CloudFront's viewer-region header,
# Cloudflare's visitor-location header, or the proxy's own.
_REGION_HEADERS = ("HTTP_CLOUDFRONT_VIEWER_COUNTRY_REGION", "HTTP_CF_REGION_CODE",
                   "HTTP_X_REGION_CODE")


def _client_hints(request: Request) -> serving.ClientHints:
    """Country and region (the CDN's geolocation headers, when set), language
    (Accept-Language's first tag) and device (the user agent) for ad targeting."""
    meta = request.META
    country = next((meta[h] for h in _COUNTRY_HEADERS if meta.get(h)), "")
    country = country.upper() if re.fullmatch(r"[A-Za-z]{2}", country) else ""
    code = next((meta[h] for h in _REGION_HEADERS if meta.get(h)), "")
    region = f"{country}-{code.upper()}" if country and re.fullmatch(r"[A-Za-z0-9]{1,3}",
                                                                     code) else ""
    accept = meta.get("HTTP_ACCEPT_LANGUAGE", "")
    language = re.split(r"[-_;,\s]", accept.strip(), maxsplit=1)[0].lower()[:8] if accept else ""
    agent = meta.get("HTTP_USER_AGENT", "")
    device = "ios" if _IOS.search(agent) else "android" if _ANDROID.search(agent) else "web"
    return serving.ClientHints(country=country, language=language, device=device,
                               region=region)


def _render(request: Request, page: serving.Page, params: dict[str, Any]) -> Response:
    for post, reco in zip(page.posts, page.reco, strict=True):
        post.feed_reco = reco  # type: ignore[attr-defined]
    next_url = None
    if page.next_cursor is not None:
        query = urlencode({**params, "cursor": page.next_cursor})
        next_url = request.build_absolute_uri(f"{request.path}?{query}")
    results = list(FeedPostSerializer(page.posts, many=True).data)  # type: ignore[arg-type]
    # Ads go in from the end so earlier indexes stay right.
    for before, item in sorted(page.ads, key=lambda pair: pair[0], reverse=True):
        results.insert(before, item)
    data = {"results": results, "next": next_url}
    response = Response(data)
    response["X-Request-Id-Feed"] = page.request_id
    if page.degraded:
        response["X-Feed-Degraded"] = ",".join(page.degraded)
    return response


class ForYouApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="feed_for_you",
        summary="For You: recommended posts (signed out too: popular and exploration)",
        parameters=[ForYouQuerySerializer],
        responses={200: FeedPageSerializer, **errors(400, 429)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        query = ForYouQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        cursor = ForYouCursor.decode(data["cursor"]) if "cursor" in data else None
        viewer = viewer_of(request)
        session_id = data.get("session_id")
        if viewer is None and session_id is None:
            cookie = request.COOKIES.get(SESSION_COOKIE, "")
            if re.match(SESSION_ID_PATTERN, cookie):
                session_id = cookie
        if viewer is None and session_id is None and cursor is not None and cursor.session:
            session_id = cursor.session
        page = serving.for_you(viewer=viewer, session_id=session_id, limit=data["limit"],
                               cursor=cursor, hints=_client_hints(request))
        params: dict[str, Any] = {"limit": data["limit"]}
        if viewer is None and "session_id" in data:
            params["session_id"] = data["session_id"]
        return _render(request, page, params)


class FollowingApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="feed_following",
        summary="Following: posts of the accounts you follow, newest first",
        parameters=[FollowingQuerySerializer],
        responses={200: FeedPageSerializer, **errors(400, 401, 429)},
        tags=TAGS,
    )
    def get(self, request: Request) -> Response:
        query = FollowingQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        data = query.validated_data
        cursor = FollowingCursor.decode(data["cursor"]) if "cursor" in data else None
        page = serving.following(viewer=user_of(request), limit=data["limit"], cursor=cursor)
        return _render(request, page, {"limit": data["limit"]})


class TopicsApi(APIView):
    permission_classes = [AllowAny]

    @extend_schema(operation_id="feed_interests_list",
                   summary="Topics to pick at onboarding",
                   responses={200: TopicListSerializer, **errors(429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        return Response({"results": [
            {"key": key, "label": spec["label"], "hashtags": spec["hashtags"]}
            for key, spec in TOPICS.items()]})


class MyInterestsApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="me_interests_retrieve", summary="Your onboarding interests",
                   responses={200: InterestsSerializer, **errors(401, 429)}, tags=TAGS)
    def get(self, request: Request) -> Response:
        chosen = UserInterests.objects.filter(user_id=user_of(request).pk).values_list(
            "interests", flat=True).first()
        return Response({"interests": list(chosen or [])})

    @extend_schema(operation_id="me_interests_update",
                   summary="Set your interests (topic keys); the feed uses them at once",
                   request=InterestsSerializer,
                   responses={200: InterestsSerializer, **errors(400, 401, 429)}, tags=TAGS)
    def put(self, request: Request) -> Response:
        if not isinstance(request.data, dict):
            raise ApplicationError("Expected a JSON object.", code="invalid")
        body = InterestsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        chosen = services.interests_set(user=user_of(request),
                                        interests=body.validated_data["interests"])
        return Response({"interests": chosen})


class NotInterestedApi(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="posts_not_interested_create",
                   summary="Not interested: the post leaves your For You at once, and similar "
                           "posts are shown less. Idempotent.",
                   request=None,
                   responses={200: NotInterestedSerializer, **errors(400, 401, 404, 429)},
                   tags=TAGS)
    def post(self, request: Request, post_id: str) -> Response:
        require_no_fields(request)
        row = services.not_interested(user=user_of(request), post_id=post_id)
        return Response({"post_id": str(row.post_id), "recorded": True})
