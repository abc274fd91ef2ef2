"""Hostile searches through the real HTTP stack (uvicorn, the ASGI handler, the middleware,
DRF): raw bytes a test client would never send. Each answers a 4xx in the error shape or an
empty answer, never a 5xx."""

from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

# The server reads the test database (committed rows only: none are needed here).
pytestmark = pytest.mark.django_db(transaction=True)

HOSTILE_QUERIES = [
    "q=%00", "q=ab%00cd", "q=%FF%FE", "q=%ED%A0%80", "q=%C0%AF", "q=%F4%90%80%80",
    "q=" + "a" * 10_000, "q=" + "%E2%80%AE" * 300, "q=%27%20OR%201%3D1--",
    "q=.*(a%2B)%2B%24", "q=%5B%5D%7B%7D%5C%5C%22", "q=%F0%9F%A4%96%F0%9F%A4%96&mode=prefix",
    "q=%E2%80%8F%D9%85%D8%B1%D8%AD%D8%A8%D8%A7", "q=%E6%97%A5%E6%9C%AC%E8%AA%9E&tab=videos",
    "tab=%FF&q=ab", "tab=top%00&q=ab", "mode=%00&q=ab", "q=ab&cursor=%FF",
    "q=ab&cursor=" + "x" * 5000, "q=ab&limit=99999999999999999999", "q=ab&limit=-1",
    "q=ab&limit=%D9%A3", "q=a&q=b&tab=top&tab=videos", "q%5B%5D=x", "q=ab&mode=prefix&cursor=x",
    "%FF=%FF", "q=%", "q=%G0", "q=" + "%25" * 3000,
]


def _get(base: str, target: bytes, headers: bytes = b"") -> tuple[int, bytes]:
    """One raw HTTP/1.1 request (the bytes as given: no client-side validation)."""
    url = urlsplit(base)
    with socket.create_connection((url.hostname, url.port), timeout=30) as sock:
        sock.sendall(b"GET " + target + b" HTTP/1.1\r\nHost: testserver\r\n" + headers
                     + b"Connection: close\r\n\r\n")
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def _check(status: int, body: bytes) -> None:
    assert status < 500, body[:500]
    if status == 400 and body.startswith(b"{"):
        error = json.loads(body)["error"]
        assert error["code"]
        assert error["message"]


@pytest.mark.parametrize("query", HOSTILE_QUERIES, ids=lambda q: q[:40])
def test_hostile_query_strings_are_never_a_5xx(live_asgi_server: str, query: str) -> None:
    status, body = _get(live_asgi_server, b"/api/v1/search?" + query.encode())
    _check(status, body)
    if status == 200:
        assert isinstance(json.loads(body)["results"], list)


@pytest.mark.parametrize("target", [
    b"/api/v1/search?q=\xff\xfe", b"/api/v1/search?q=caf\xc3\xa9", b"/api/v1/search?q=a b",
    b"/api/v1/search/?q=ab", b"/api/v1/search?q=%0d%0aSet-Cookie:x=1",
])
def test_raw_bytes_in_the_request_line_are_never_a_5xx(live_asgi_server: str,
                                                       target: bytes) -> None:
    _check(*_get(live_asgi_server, target))


@pytest.mark.parametrize("header", [
    b"Accept-Language: " + b"x" * 4000 + b"\r\n", b"Accept-Language: \xff\xfe;q=x\r\n",
    b"Accept-Language: ,,,;;;\r\n", b"X-Forwarded-For: \xff, 999.1.1.1\r\n",
])
def test_hostile_headers_are_never_a_5xx(live_asgi_server: str, header: bytes) -> None:
    _check(*_get(live_asgi_server, b"/api/v1/search?q=hello%20world", header))
