"""Which Web Push endpoint URLs we accept: our workers POST to them, so outside tests and
development only https:// on public addresses (no SSRF into the private network). Checked
when a browser subscribes and again before each send (DNS may have changed)."""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from django.conf import settings

MAX_ENDPOINT_LENGTH = 2048


def _addresses(host: str, port: int) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in infos]


def endpoint_refusal(url: str) -> str | None:
    """Why the endpoint is refused (a sentence for the client), or None."""
    if len(url) > MAX_ENDPOINT_LENGTH:
        return f"The endpoint is longer than {MAX_ENDPOINT_LENGTH} characters."
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return "The endpoint is not a valid URL."
    allow_private = settings.SWIPEME_WEBPUSH_ALLOW_PRIVATE_ENDPOINTS
    schemes = ("https", "http") if allow_private else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        return "The endpoint must be an https:// URL of a push service."
    if parts.username or parts.password:
        return "The endpoint must not carry a user name or password."
    if allow_private:
        return None
    try:
        addresses = _addresses(parts.hostname, port or 443)
    except (OSError, UnicodeError):
        return "The endpoint's host name does not resolve."
    if not addresses or any(not address.is_global for address in addresses):
        return "The endpoint must be on a public push service, not a private address."
    return None
