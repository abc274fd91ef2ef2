"""nginx-rtmp's callbacks (internal: `/internal/live/...`, the shared secret of
`config.ingest_secret` in the query; never in the public API or its schema).

- `on_publish`: an encoder publishes with its key as the stream name. Django decides
  (`services.publish_started`: unknown or revoked key, a creator who may not go live, no
  live set up, a second publisher): a refusal is a 403 (nginx-rtmp closes the connection;
  the reason is logged by code, never with the key); a yes is a 302 whose Location is the
  live's id, which nginx-rtmp takes as the stream's new name.
- `on_publish_done`: the publisher left (nginx-rtmp sends the name it published with, the
  key): `services.publish_stopped` (reconnecting; the window starts).

The SRT relay (`ingest.srt`) publishes into the same RTMP server with a signed name
`srt-<live id>-<signature>` (it never knows the key): the live's host's current key stands
for it.
"""

from __future__ import annotations

import hmac
import logging

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from apps.accounts.models import User
from apps.live import selectors, services
from apps.live.ingest import srt
from apps.live.ingest.config import ingest_secret
from apps.live.services.keys import key_lookup

logger = logging.getLogger("apps.live.ingest")


def _trusted(request: HttpRequest) -> bool:
    return hmac.compare_digest(request.GET.get("secret", ""), ingest_secret())


def _publisher(request: HttpRequest) -> tuple[str, str]:
    """The connection's id and protocol: "rtmp:<nginx instance>:<client id>", or the SRT
    relay's "srt:<port>"."""
    name = request.POST.get("name", "")
    relay = srt.relay_live_id(name)
    if relay is not None:
        return f"srt:{srt.port_of(relay) or 0}", "srt"
    instance = request.GET.get("instance", "")[:16]
    return f"rtmp:{instance}:{request.POST.get('clientid', '')[:16]}", "rtmp"


def _host_of(name: str) -> User | None:
    relay = srt.relay_live_id(name)
    if relay is not None:
        return srt.host_of(relay)
    key = key_lookup(name)
    return key.user if key is not None else None


@csrf_exempt
@require_POST
def on_publish(request: HttpRequest) -> HttpResponse:
    if not _trusted(request):
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    name = request.POST.get("name", "")
    publisher, protocol = _publisher(request)
    try:
        relay = srt.relay_live_id(name)
        key = srt.key_for_relay(relay) if relay is not None else name
        if key is None:
            raise services.IngestRefused("unknown_key", "This SRT listener has no live.")
        live = services.publish_started(key=key, publisher=publisher, protocol=protocol)
    except services.IngestRefused as exc:
        logger.info("live ingest refused a publisher (%s): %s", exc.code, exc.message,
                    extra={"publisher": publisher})
        return HttpResponse(exc.message, status=403, content_type="text/plain")
    response = HttpResponse(status=302)
    response["Location"] = str(live.pk)  # nginx-rtmp renames the stream: the key goes no further
    return response


@csrf_exempt
@require_POST
def on_publish_done(request: HttpRequest) -> HttpResponse:
    if not _trusted(request):
        return HttpResponse("Forbidden", status=403, content_type="text/plain")
    publisher, _ = _publisher(request)
    host = _host_of(request.POST.get("name", ""))
    live = selectors.current_live_of(host) if host is not None else None
    if live is not None:
        services.publish_stopped(live_id=live.pk, publisher=publisher)
    return HttpResponse(status=204)
