"""The browser fixtures of tests/browser (headless Chromium, the real worker, committed rows
per module), against a web server of the portal's own: started with
SWIPEME_ADS_LANDING_TEST_HOSTS=127.0.0.1 so that the ad review's landing-page fetch can reach
a local http server standing in for the advertiser's site (the shared live server refuses
plain http and loopback addresses, as production does)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.browser.conftest import (  # noqa: F401 - fixtures
    browser_db,
    logged_in_page,
    new_context,
    page_errors,
)
from tests.conftest import uvicorn_process


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def portal_server(django_db_setup: None) -> Iterator[str]:
    with uvicorn_process(
        "adsportal-web", env={"SWIPEME_ADS_LANDING_TEST_HOSTS": "127.0.0.1"}
    ) as url:
        yield url


@pytest.fixture
def base_url(portal_server: str) -> str:
    return portal_server


class _Landing(BaseHTTPRequestHandler):
    """The advertiser's site: 200 for any page but /gone (404)."""

    def do_GET(self) -> None:
        status = 404 if self.path.startswith("/gone") else 200
        body = b"<!doctype html><title>Acme Shoes</title><h1>Spring sale</h1>"
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture(scope="module")
def landing_site() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Landing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
