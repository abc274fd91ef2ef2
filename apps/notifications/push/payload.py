"""Payloads under 3 KB: the body (then the title) is cut to fit, never the links."""

from __future__ import annotations

from collections.abc import Callable

# Web Push services take 4 KB of ciphertext (aes128gcm adds 103 bytes and more with
# padding), FCM and APNs 4 KB of JSON: 3 KB leaves room on every channel.
MAX_PAYLOAD_BYTES = 3000
ELLIPSIS = "…"


def _cut(text: str, length: int) -> str:
    return text if len(text) <= length else text[: max(length - 1, 0)] + ELLIPSIS


def fit(build: Callable[[str, str], bytes], title: str, body: str,
        limit: int = MAX_PAYLOAD_BYTES) -> bytes:
    """`build(title, body)` with the body, then the title, shortened (binary search on
    characters) until the encoded payload is at most `limit` bytes."""
    encoded = build(title, body)
    if len(encoded) <= limit:
        return encoded
    for field in ("body", "title"):
        text = body if field == "body" else title
        low, high = 0, len(text)  # the longest length that fits lies in [low, high)
        while low < high:
            middle = (low + high + 1) // 2
            candidate = _cut(text, middle)
            size = len(build(title, candidate) if field == "body" else build(candidate, body))
            if size <= limit:
                low = middle
            else:
                high = middle - 1
        if field == "body":
            body = _cut(body, low)
        else:
            title = _cut(title, low)
        encoded = build(title, body)
        if len(encoded) <= limit:
            return encoded
    raise ValueError("push payload does not fit even without its title and body")
