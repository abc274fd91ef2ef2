"""Issue 12, item 6: missing pages and server errors are the site's own pages, with a way
back, also under DEBUG (`make run`); the API keeps answering JSON errors."""

from __future__ import annotations

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from django.urls import include, path

from apps.core.views import api_server_error


def _crash(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a view")


# This module is also a URLconf (the site's patterns and one crashing page).
urlpatterns = [path("crash/", _crash), path("", include("swipeme_site.urls"))]
handler404 = "apps.core.views.api_not_found"
handler500 = "apps.core.views.api_server_error"

DJANGO_DEBUG_404 = "Using the URLconf defined in"


def _assert_styled_404(response) -> None:
    assert response.status_code == 404
    html = response.content.decode()
    assert DJANGO_DEBUG_404 not in html
    assert 'class="topbar"' in html  # the site's layout
    assert "We couldn't find this page" in html
    assert 'href="/"' in html
    assert "Go to the home feed" in html


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_missing_page_is_the_styled_404(settings, debug):
    settings.DEBUG = debug
    _assert_styled_404(Client().get("/no/such/page"))


@pytest.mark.django_db
@pytest.mark.parametrize("debug", [True, False])
def test_a_view_that_finds_nothing_is_the_styled_404(settings, debug):
    settings.DEBUG = debug
    _assert_styled_404(Client().get("/@nobody_by_that_name"))  # the profile view's Http404
    _assert_styled_404(Client().get("/pages/no-such-cms-page/"))  # Wagtail's serve view


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/v1/no-such-endpoint", "/_allauth/no/such"])
def test_the_api_still_answers_json_under_debug(settings, path):
    settings.DEBUG = True
    response = Client().get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_the_500_page_is_styled_and_needs_no_request_context():
    # Django renders 500.html without context processors (no user, no database).
    response = api_server_error(RequestFactory().get("/@someone"))
    assert response.status_code == 500
    html = response.content.decode()
    assert 'class="topbar"' in html
    assert "Something went wrong on our side" in html
    assert 'href="/"' in html


def test_the_api_500_stays_json():
    response = api_server_error(RequestFactory().get("/api/v1/feed"))
    assert response.status_code == 500
    assert b'"server_error"' in response.content


@pytest.mark.django_db
def test_a_crash_under_debug_is_the_styled_500_and_the_traceback_is_logged(settings, caplog):
    settings.DEBUG = True
    settings.ROOT_URLCONF = __name__
    client = Client(raise_request_exception=False)
    response = client.get("/crash/")
    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert "Traceback" not in html  # not the debug page
    assert "a bug in a view" not in html
    assert any("a bug in a view" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
