"""`/search?q=...&tab=...`: the search page. The server renders the first page of full
results (so the page works without JavaScript: a GET form, tab links, a "More results" link
with the cursor) through the same search use case as `GET /api/v1/search`, which also
records the signed-in viewer's history; static/js/search takes over from there (results as
you type, more on scrolling, recent and trending searches)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.core.errors import ApplicationError
from apps.search import services as search_services
from apps.search.api.serializers import SearchAnswerSerializer
from apps.search.api.views import SearchApi
from apps.web.pages import viewer_of

THROTTLED = "You're searching very fast. Wait a moment, then try again."
TABS = (("top", "Top"), ("accounts", "Accounts"), ("videos", "Videos"), ("sounds", "Sounds"),
        ("live", "LIVE"), ("hashtags", "Hashtags"))
TAB_KEYS = frozenset(key for key, _ in TABS)


def search_url(q: str, tab: str = "top", cursor: str | None = None) -> str:
    params = {"q": q}
    if tab != "top":
        params["tab"] = tab
    if cursor:
        params["cursor"] = cursor
    return f"/search?{urlencode(params)}"


def result_groups(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive videos become one grid, everything else rows (the Top tab mixes them);
    each item keeps its position in the answer (search_click reports it)."""
    groups: list[dict[str, Any]] = []
    for position, item in enumerate(results):
        kind = "grid" if item.get("type") == "video" else "list"
        if not groups or groups[-1]["kind"] != kind:
            groups.append({"kind": kind, "items": []})
        groups[-1]["items"].append((position, item))
    return groups


@require_safe
def search(request: HttpRequest) -> HttpResponse:
    q = " ".join(request.GET.get("q", "").split())
    tab = request.GET.get("tab", "top")
    if tab not in TAB_KEYS:
        tab = "top"  # a hand-edited link: show Top rather than an error page
    answer: dict[str, Any] | None = None
    error = ""
    status = 200
    if q:
        try:
            answer = _full_search(request, tab)
        except ApplicationError as exc:
            error, status = exc.message, exc.status_code
    return render(request, "web/search.html", {
        "q": q,
        "tab": tab,
        "tabs": [(key, label, search_url(q, key)) for key, label in TABS],
        "answer": answer,
        "error": error,
        "groups": result_groups(list(answer["results"])) if answer else [],
        "more_url": search_url(q, tab, answer.get("next_cursor")) if answer else "",
    }, status=status)


def _full_search(request: HttpRequest, tab: str) -> dict[str, Any]:
    """The API's full-mode search for this request, under the API's own throttles (per user
    and per IP: the page is no way around them), shaped as the API answers."""
    api = SearchApi()
    if not all(throttle.allow_request(request, api)  # type: ignore[arg-type]
               for throttle in api.get_throttles()):
        raise ApplicationError(THROTTLED, code="throttled", status_code=429)
    # the API's default page size (a ?limit on the page's URL is not the page's business)
    params = search_services.search_params(
        {"q": request.GET.get("q", ""), "tab": tab, "mode": "full",
         "cursor": request.GET.get("cursor", "")},
        raw_query_string=request.META.get("QUERY_STRING", ""))
    answer = search_services.search(viewer=viewer_of(request), params=params,
                                    language=getattr(request, "LANGUAGE_CODE", "") or "")
    return dict(SearchAnswerSerializer(answer).data)
