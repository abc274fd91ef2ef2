"""Measurement endpoints that are not JSON: the click redirect `/ads/c/<token>` (records the
click, then sends the viewer to the ad's landing page with `swpclid`) and the conversion
pixel `/ads/px` (an advertiser's page loads it as an image).

Both are throttled per IP in the cache: past the budget a click still takes the person to
the landing page but records nothing, and the pixel answers 429."""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_safe

from apps.ads.measurement import conversions
from apps.ads.measurement.events import (
    Caller,
    InvalidTokenError,
    ad_event_record,
    landing_url_for,
)
from apps.ads.models.measurement import AdEventKind, ConversionSource
from apps.core.errors import ApplicationError, NotFoundError

logger = logging.getLogger(__name__)

CLICKS_PER_MINUTE = 30  # per IP: a person taps a few ads a minute at most
PIXELS_PER_MINUTE = 600  # per IP (an office behind one address)
# 1x1 transparent GIF
PIXEL_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00"
    b"\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


def _client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR", ""))


def _within(kind: str, ident: str, limit: int) -> bool:
    """A fixed one-minute window in the shared cache; fails open when the cache does."""
    key = f"ads:{kind}:{ident}:{int(timezone.now().timestamp()) // 60}"
    try:
        cache.add(key, 0, timeout=90)
        return int(cache.incr(key)) <= limit
    except Exception:  # the cache is down: measurement goes on, the other rules still apply
        logger.warning("ads.throttle_cache_unavailable", exc_info=True)
        return True


def _with_click_id(url: str, click_id: str | None) -> str:
    if not click_id:
        return url
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "swpclid"]
    query.append(("swpclid", click_id))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _link_error(request: HttpRequest, status: int, heading: str, message: str) -> HttpResponse:
    return render(
        request,
        "ads/link_error.html",
        {"status": status, "heading": heading, "message": message},
        status=status,
    )


def _redirect(url: str) -> HttpResponse:
    if urlsplit(url).scheme not in ("http", "https"):
        raise NotFoundError("This ad is no longer available.")
    response = HttpResponseRedirect(url)
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "origin"
    return response


@require_safe
def click(request: HttpRequest, token: str) -> HttpResponse:
    """Record the click (judged for invalid traffic, billed when it is the token's billing
    event) and send the viewer on. A HEAD (link previews) or a throttled client is sent on
    without a record."""
    user = getattr(request, "user", None)
    caller = Caller(
        user_id=user.pk if user is not None and user.is_authenticated else None,
        user_agent=str(request.META.get("HTTP_USER_AGENT", ""))[:512],
    )
    try:
        if request.method != "GET" or not _within("click", _client_ip(request), CLICKS_PER_MINUTE):
            return _redirect(landing_url_for(token))
        recorded = ad_event_record(token=token, kind=AdEventKind.CLICK, caller=caller)
        return _redirect(
            _with_click_id(
                recorded.landing_url, recorded.event.click_id if recorded.valid else None
            )
        )
    except InvalidTokenError:
        return _link_error(
            request,
            400,
            "This ad link doesn't work",
            "It was changed or is more than a day old. Find the ad in your feed and tap it again.",
        )
    except NotFoundError:
        return _link_error(
            request, 404, "This ad is no longer available", "The advertiser has removed it."
        )


def _pixel_error(exc: ApplicationError) -> JsonResponse:
    return JsonResponse(
        {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}},
        status=exc.status_code,
    )


@require_GET
def pixel(request: HttpRequest) -> HttpResponse:
    """`/ads/px?pid=<pixel id>&ev=<event>&eid=<event id>[&clid=<swpclid>][&value=<micros>]`:
    one conversion, once per event id; a 1x1 GIF."""
    if not _within("pixel", _client_ip(request), PIXELS_PER_MINUTE):
        return _pixel_error(
            ApplicationError("Too many requests.", code="throttled", status_code=429)
        )
    params = request.GET
    try:
        org_id = conversions.pixel_org(params.get("pid", ""))
        value = params.get("value", "0")
        raw = {
            "event_id": params.get("eid"),
            "event": params.get("ev", ""),
            "click_id": params.get("clid", ""),
            "value_micros": int(value) if value.isdigit() and len(value) < 19 else -1,
        }
        clean = conversions.conversion_clean(raw, now=timezone.now())
        conversions.conversion_record(
            org_id=org_id, conversion=clean, source=ConversionSource.PIXEL
        )
    except ApplicationError as exc:
        return _pixel_error(exc)
    response = HttpResponse(PIXEL_GIF, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response
