"""Live pages: the Live tab (`/live`), the player (`/live/<id>`), going live in the studio
(`/studio/live`) and the end screen with the stats (`/studio/live/<id>`).

Who may see a live is `live.selectors.live_for` / `live_tab` (the one rule the API, HLS
serving and chat use too): anything else is a 404. Who may go live is
`live.eligibility.go_live_refusal`, shown in its words. The studio's forms post here and
call live's services (the stream key is shown once, in the answer to the POST that made it,
never stored or redirected with); the player talks to the API and the chat socket
(`static/js/livestream/`)."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_safe

from apps.accounts.models import User
from apps.core.errors import ApplicationError, NotFoundError
from apps.live import selectors as live_selectors
from apps.live import services as live_services
from apps.live.api.views import CreateInput
from apps.live.chat import presence
from apps.live.chat import selectors as chat_selectors
from apps.live.chat.limits import chat_limits
from apps.live.eligibility import go_live_refusal
from apps.live.models import LiveStream
from apps.monetization.eligibility import may_use_coins
from apps.web.pages import avatar_url, viewer_of


def _me(request: HttpRequest) -> User:
    viewer = viewer_of(request)
    assert viewer is not None  # login_required
    return viewer


def _card(live: LiveStream) -> dict[str, Any]:
    return {"live": live, "host": live.host, "avatar": avatar_url(live.host, "100"),
            "cover": live_selectors.cover_url(live),
            "viewers": getattr(live, "viewer_count", None)}


@require_safe
def live_tab(request: HttpRequest) -> HttpResponse:
    lives = list(live_selectors.live_tab(viewer_of(request)))
    return render(request, "web/live_tab.html", {"cards": [_card(live) for live in lives]})


def _visible_live(request: HttpRequest, live_id: str) -> LiveStream:
    try:
        return live_selectors.live_for(viewer_of(request), live_id)
    except NotFoundError:
        raise Http404 from None


@require_safe
def live_player(request: HttpRequest, live_id: str) -> HttpResponse:
    live = _visible_live(request, live_id)
    viewer = viewer_of(request)
    is_host = viewer is not None and viewer.pk == live.host_id
    if live.state == LiveStream.State.ENDED and is_host:
        return redirect("web:studio-live-end", live_id=live.pk)
    refusal = may_use_coins(viewer) if viewer is not None else None
    limits = chat_limits()  # the staff's (LivePolicy); the socket's `ready` repeats them
    response = render(request, "web/live.html", {
        "live": live, "host": live.host, "host_avatar": avatar_url(live.host, "100"),
        "is_host": is_host, "cover": live_selectors.cover_url(live),
        "playback_url": f"/live/{live.pk}/hls/index.m3u8",  # H2's serving (live.playback)
        "coins_refusal": refusal.message if refusal else "",
        "pinned": chat_selectors.pinned_payload(live),
        "is_moderator": chat_selectors.role_of(live, viewer.pk if viewer else None)
        == chat_selectors.MODERATOR,
        "viewer_count": live_selectors.viewer_counts([live.pk]).get(live.pk, 0),
        "slow_mode_choices": limits.slow_mode_choices,
        "chat_max_chars": limits.max_chars,
    })
    if viewer is None and presence.device_id(request.COOKIES) is None:
        # a signed-out viewer's device id (the feed's cookie): the chat counts each device
        # once among the live's unique viewers, however often it reconnects
        response.set_cookie(presence.DEVICE_COOKIE, secrets.token_urlsafe(16),
                            max_age=365 * 24 * 3600, httponly=True, samesite="Lax",
                            secure=request.is_secure())
    response["Cache-Control"] = "private, no-cache"
    return response


def _ingest_urls() -> dict[str, str]:
    return {"rtmp_url": str(settings.SWIPEME_LIVE_RTMP_URL),
            "srt_url": str(settings.SWIPEME_LIVE_SRT_URL)}


def _first_error(errors: Any) -> str:
    """The first message of a serializer's errors (the form shows one line)."""
    for field, found in dict(errors).items():
        words = str(found[0]) if isinstance(found, list) and found else str(found)
        return words if field in ("non_field_errors", "title") else f"{field.title()}: {words}"
    return "Check the form and try again."


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def studio_live(request: HttpRequest) -> HttpResponse:
    me = _me(request)
    plain_key = ""
    if request.method == "POST":
        action = request.POST.get("action", "")
        try:
            if action == "key":  # create, or rotate: the old key stops working
                _key, plain_key = live_services.key_create(me)
            elif action == "revoke":
                live_services.key_revoke(me)
                messages.success(request, "Your stream key was revoked. Make a new one to "
                                          "go live again.")
                return redirect("web:studio-live")
            elif action == "setup":  # the API's validation (title, audience, cover)
                # no cover chosen: the browser sends an empty part, which is no file
                data: dict[str, Any] = {k: v for k, v in request.POST.dict().items()
                                        if k != "cover"}
                form = CreateInput(data={**data, **request.FILES.dict()})
                if not form.is_valid():
                    messages.error(request, _first_error(form.errors))
                    return redirect("web:studio-live")
                values = form.validated_data
                live_services.live_create(me, title=values["title"],
                                          audience=values["audience"],
                                          cover=values.get("cover"))
                return redirect("web:studio-live")
            elif action == "end":
                live = live_selectors.current_live_of(me)
                if live is not None:
                    live_services.live_end(live, reason=LiveStream.EndReason.HOST, by=me)
                    return redirect("web:studio-live-end", live_id=live.pk)
                return redirect("web:studio-live")
            else:
                messages.error(request, "That is not something this page can do.")
                return redirect("web:studio-live")
        except ApplicationError as error:
            messages.error(request, str(error.message))
            return redirect("web:studio-live")
    refusal = go_live_refusal(me)
    key = live_selectors.active_key(me)
    live = live_selectors.current_live_of(me)
    return render(request, "web/studio_live.html", {
        "refusal": refusal, "key": key, "plain_key": plain_key, "live": live,
        "cover": live_selectors.cover_url(live) if live is not None else None,
        "audiences": LiveStream.Audience.choices, **_ingest_urls(),
        "title_max": LiveStream._meta.get_field("title").max_length,
    })


@login_required
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def studio_live_end(request: HttpRequest, live_id: str) -> HttpResponse:
    """The end screen: the stats of one of the host's lives and "save the replay"."""
    me = _me(request)
    try:
        live = live_selectors.own_live(me, live_id)
    except NotFoundError:
        raise Http404 from None
    if request.method == "POST":
        try:
            live_services.replay_choose(live, save=True)
        except ApplicationError as error:
            messages.error(request, str(error.message))
        # on success the replay section itself says the replay is being made
        return redirect("web:studio-live-end", live_id=live.pk)
    duration = (int((live.ended_at - live.started_at).total_seconds())
                if live.started_at and live.ended_at else 0)
    return render(request, "web/live_end.html", {
        "live": live, "duration": _duration_words(duration),
        # the average audience: watch time over the time on air
        "average_viewers": round(live.watch_seconds / duration) if duration else 0,
        "watch_time": _duration_words(live.watch_seconds),
        "replay_choice_open": live.state == LiveStream.State.ENDED and live.started_at is not None
        and live.replay_post_id is None and not live.save_replay,
    })


def _duration_words(seconds: int) -> str:
    """3725 -> "1 h 2 min", 125 -> "2 min 5 s", 40 -> "40 s"."""
    hours, rest = divmod(max(0, seconds), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"
