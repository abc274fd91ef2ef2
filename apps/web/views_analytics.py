"""Creator analytics on the web: `/studio/analytics` shows the signed-in creator their own
numbers only (there is no way to name another creator): views, watch time, average share
watched, views and followers gained and lost per day, traffic sources, the audience (each
group behind analytics' one k-threshold rule, `selectors.audience_for`), earnings and RPM
(monetization's answer through `analytics.hooks.creator_earnings`), and one post's
retention per second (`?post=<id>`, through
`selectors.get_post_analytics_for`, the API's owner check: someone else's post, or one the
viewer may not see, is a 404 here). Everything comes from the aggregates in a fixed number
of queries, however many posts; static/js/analytics draws the charts from the page's JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from apps.analytics import selectors
from apps.analytics.hooks import earnings_for
from apps.core.errors import ApplicationError
from apps.payments.money import format_money, to_micros
from apps.web.pages import viewer_of

PERIODS = {"7d": 7, "28d": 28}
SOURCE_LABELS = {
    "for_you": "For You feed", "following": "Following feed", "profile": "Your profile",
    "search": "Search", "share": "Shared links", "sound": "Sound pages",
    "hashtag": "Hashtag pages", "other": "Elsewhere",
    "not_reported": "Not reported (apps that do not say where a play started)",
}
EARNINGS_NOT_AVAILABLE = ("Not available yet. SwipeMe does not pay creators so far; "
                          "earnings and RPM will show here once creator monetization exists.")


def _percent(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def watch_time_words(ms: int) -> str:
    """1 h 5 min, 3 min 20 s, 12 s."""
    seconds = ms // 1000
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours:,} h {minutes} min"
    if minutes:
        return f"{minutes} min {secs} s"
    return f"{secs} s"


def _epoch(day: Any) -> int:
    return int(datetime.combine(day, datetime.min.time(), tzinfo=UTC).timestamp())


@login_required
@require_safe
def analytics(request: HttpRequest) -> HttpResponse:
    me = viewer_of(request)
    assert me is not None  # login_required
    period = request.GET.get("period", "7d")
    if period not in PERIODS:
        period = "7d"
    days = PERIODS[period]
    summary = selectors.creator_summary_for(creator_id=me.pk, days=days)
    audience = selectors.audience_for(creator_id=me.pk, days=days)

    chosen = request.GET.get("post") or (str(summary.top_posts[0]["post_id"])
                                         if summary.top_posts else None)
    post = None
    if chosen:
        try:  # the owner check of the API; the page does not tell "not yours" apart
            post = selectors.get_post_analytics_for(viewer=me, post_id=chosen, days=days)
        except ApplicationError as exc:
            raise Http404("Post not found.") from exc

    sources = [{"key": key, "label": SOURCE_LABELS[key], "views": views,
                "percent": _percent(views, summary.views)}
               for key, views in summary.sources.items() if views]
    chart: dict[str, Any] = {
        "days": [_epoch(d["day"]) for d in summary.daily],
        "views": [d["views"] for d in summary.daily],
        "gained": [d["followers_gained"] for d in summary.daily],
        "lost": [d["followers_lost"] for d in summary.daily],
        "retention": None,
    }
    if post is not None and post.retention_seconds:
        chart["retention"] = {
            "seconds": [p["second"] for p in post.retention_seconds],
            "viewers": [p["viewers"] for p in post.retention_seconds],
            "percent": [round(100 * p["fraction"], 1) for p in post.retention_seconds],
        }
    return render(request, "web/analytics.html", {
        "period": period, "periods": list(PERIODS), "summary": summary,
        "average_percent": (None if summary.average_watch_fraction is None
                            else round(100 * summary.average_watch_fraction, 1)),
        "watch_time": watch_time_words(summary.watch_ms),
        "followers_net": summary.followers_gained - summary.followers_lost,
        "sources": sources, "audience": audience, "top_posts": summary.top_posts,
        "post": post, "chosen_id": chosen,
        "post_average_percent": (None if post is None or post.average_watch_fraction is None
                                 else round(100 * post.average_watch_fraction, 1)),
        "chart": chart, "earnings": _earnings(me.pk, days, summary.views),
    })


def _earnings(creator_id: int, days: int, views: int) -> dict[str, Any]:
    """The earnings card: monetization's answer through analytics' hook, in dollars."""
    found = earnings_for(creator_id=creator_id, days=days, views=views,
                         unavailable=EARNINGS_NOT_AVAILABLE)
    if not found.get("available"):
        return found
    rpm = found.get("rpm_minor")
    return {**found, "earned": format_money(to_micros(int(found["earned_minor"]), "USD"), "USD"),
            "rpm": None if rpm is None else format_money(to_micros(int(rpm), "USD"), "USD")}
