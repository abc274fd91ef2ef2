"""The feed pages: For You (the home page, open to signed-out visitors) and Following.

The page is a shell the browser fills (static/js/feed) from the feed API. Its first page
comes with the HTML (issue 22: one round trip less before the first frame): the API's own
view answers it here (`_first_page`: the same query, selector, visibility rule, serializer
and throttle as `GET /api/v1/feed/...`), the answer is embedded as JSON
(`json_script`), and the first video's start playlist and first frame are preloaded from
the page's head. Whatever keeps that answer from being made (the database out of reach, a
throttle, an error), or an empty feed, leaves the page as it was: the script asks the API
itself and says what went wrong."""

from __future__ import annotations

import copy
import logging
import re
import uuid
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.csrf import ensure_csrf_cookie

from apps.feed.api.serializers import SESSION_ID_PATTERN
from apps.feed.api.views import SESSION_COOKIE, FollowingApi, ForYouApi
from apps.media.playback import start_files

logger = logging.getLogger(__name__)

# the page size the script asks for (static/js/feed/main.js feedUrl)
FIRST_PAGE_LIMIT = 5
_for_you = ForYouApi.as_view()
_following = FollowingApi.as_view()


def _first_page(request: HttpRequest, tab: str, source: str, session_id: str) -> dict[str, Any]:
    """The feed API's answer to the script's first request, made by the API's view itself
    on a copy of this request (its user, session and cookies) at the API's path, so its
    `next` link is the API's. {} when it is not a 200 with results."""
    params = QueryDict(mutable=True)
    params["limit"] = str(FIRST_PAGE_LIMIT)
    if session_id:
        params["session_id"] = session_id
    query = QueryDict(params.urlencode())  # immutable, as a request's
    inner = copy.copy(request)
    inner.path = inner.path_info = source
    inner.GET = query  # type: ignore[assignment]  # the stubs' immutable subclass
    inner.META = {
        **request.META,
        "PATH_INFO": source,
        "QUERY_STRING": query.urlencode(),
        "HTTP_ACCEPT": "application/json",
    }
    view = _for_you if tab == "for-you" else _following
    try:
        response = view(inner)
    except Exception:  # the page still works without it: the script asks the API
        logger.warning("feed page: the first page was not embedded", exc_info=True)
        return {}
    # nothing to start, nothing to save: an empty feed is asked again by the script (posts
    # may have been published meanwhile; its refusals are said there)
    if response.status_code != 200 or not response.data.get("results"):
        return {}
    return {**response.data, "session_id": session_id}


def _start_urls(page: dict[str, Any]) -> dict[str, Any]:
    """The first video's start playlist, its init and first segment (`files`: named by that
    playlist, media.playback.start_files) and first frame (else poster), for preload links."""
    for entry in page.get("results") or []:
        playback = (
            entry.get("playback")
            if entry.get("type") == "ad"
            else ((entry.get("media") or {}).get("playback"))
        )
        if not playback:
            continue  # the script skips it too
        start = playback.get("start") or {}
        playlist = start.get("playlist") or ""
        return {
            "playlist": playlist,
            "files": start_files(playlist) if playlist else [],
            "image": playback.get("first_frame") or playback.get("poster") or "",
        }
    return {}


def _feed_page(request: HttpRequest, tab: str) -> HttpResponse:
    try:
        reports_url = reverse("v1:reports")
    except NoReverseMatch:  # the moderation API is not mounted: the menu has no "Report"
        reports_url = ""
    signed_in = bool(request.user.is_authenticated)
    source = ""
    if tab == "for-you" or signed_in:
        source = reverse("v1:feed-for-you" if tab == "for-you" else "v1:feed-following")
    # A signed-out visitor's For You is per session id (the API's `session_id`): the
    # script keeps its id in the `feed_session` cookie, so the page's first page is made
    # for the id the script will use; a first visit gets one here and the script adopts it.
    session_id = ""
    new_session = False
    if source and not signed_in and tab == "for-you":
        session_id = request.COOKIES.get(SESSION_COOKIE, "")
        if not re.match(SESSION_ID_PATTERN, session_id):
            session_id, new_session = str(uuid.uuid4()), True
    first_page = _first_page(request, tab, source, session_id) if source else {}
    response = render(
        request,
        "web/feed.html",
        {
            "tab": tab,
            "source": source,
            "preload": request.GET.get("preload") != "0",
            "reports_url": reports_url if signed_in else "",
            "first_page": first_page,
            "start_urls": _start_urls(first_page),
        },
    )
    if new_session:
        response.set_cookie(SESSION_COOKIE, session_id, samesite="Lax", secure=request.is_secure())
    return response


@ensure_csrf_cookie
def home(request: HttpRequest) -> HttpResponse:
    return _feed_page(request, "for-you")


@ensure_csrf_cookie
def following(request: HttpRequest) -> HttpResponse:
    return _feed_page(request, "following")
