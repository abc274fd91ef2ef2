"""Issue 12, items 6, 9 and 10 in headless Chromium: the styled 404 and 500 pages lead back
home, the CMS home at /pages/ is SwipeMe's own, and the verification-code screen can send a
new code. Screenshots at phone and desktop size (var/artifacts/screenshots/)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import call_command
from django.test import RequestFactory
from playwright.sync_api import BrowserContext, Page, expect

from apps.core.views import api_server_error
from tests.browser.conftest import DESKTOP, PHONE, PageErrors, screenshot

SIZES = [pytest.param(PHONE, id="phone"), pytest.param({"width": 1440, "height": 900},
                                                       id="desktop")]


def _fits_the_width(page: Page) -> None:
    overflow = page.evaluate("() => document.documentElement.scrollWidth - innerWidth")
    assert overflow <= 0


@pytest.mark.parametrize("viewport", SIZES)
def test_a_missing_page_is_styled_and_leads_home(
        new_context: Callable[..., BrowserContext], viewport: dict[str, int],
        page_errors: PageErrors) -> None:
    page = new_context(viewport=viewport).new_page()
    response = page.goto("/no/such/page")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="We couldn't find this page")).to_be_visible()
    home = page.get_by_role("link", name="Go to the home feed")
    expect(home).to_be_visible()
    expect(page.get_by_role("link", name="Visit the help centre")).to_be_visible()
    _fits_the_width(page)
    screenshot(page, f"error-404-{viewport['width']}")
    home.click()
    page.wait_for_url(re.compile(r"/$"))
    assert page_errors.uncaught == []


@pytest.mark.parametrize("viewport", SIZES)
def test_the_500_page_is_styled(new_context: Callable[..., BrowserContext],
                                viewport: dict[str, int], base_url: str) -> None:
    # The server's own 500 answer (apps.core.views.api_server_error renders 500.html),
    # served at a URL of the site so its stylesheets load from the live server.
    html = api_server_error(RequestFactory().get("/boom")).content.decode()
    page = new_context(viewport=viewport).new_page()
    page.route(f"{base_url}/boom", lambda route: route.fulfill(
        status=500, body=html, content_type="text/html; charset=utf-8"))
    page.goto("/boom")
    expect(page.get_by_role("heading", name="Something went wrong on our side")).to_be_visible()
    expect(page.get_by_role("link", name="Go to the home feed")).to_be_visible()
    _fits_the_width(page)
    screenshot(page, f"error-500-{viewport['width']}")


@pytest.mark.parametrize("viewport", SIZES)
def test_the_cms_home_is_swipemes_own(new_context: Callable[..., BrowserContext],
                                      viewport: dict[str, int]) -> None:
    call_command("seed_help_centre")
    page = new_context(viewport=viewport).new_page()
    page.goto("/pages/")
    expect(page.get_by_role("heading", name="SwipeMe help and policies")).to_be_visible()
    assert "Welcome to your new Wagtail site" not in page.content()
    _fits_the_width(page)
    screenshot(page, f"cms-home-{viewport['width']}")
    page.get_by_role("link", name="Community Guidelines").click()
    page.wait_for_url(re.compile(r"/pages/community-guidelines/$"))


def _code(context: BrowserContext) -> str:
    session_key = next(c["value"] for c in context.cookies() if c["name"] == "sessionid")
    state = SessionStore(session_key=session_key).load()["account_email_verification_code"]
    return str(state["code"])


def test_sign_up_words_and_a_new_verification_code(
        new_context: Callable[..., BrowserContext], page_errors: PageErrors) -> None:
    page = new_context(viewport=PHONE).new_page()
    page.goto("/accounts/signup/")
    expect(page.get_by_role("heading", name="Sign up", exact=True)).to_be_visible()
    hint = page.locator("#id_date_of_birth_helptext")
    expect(hint).to_contain_text("old enough")
    screenshot(page, "words-signup-390", full_page=True)
    page.fill('input[name="email"]', "resend.me@swipeme.test")
    page.fill('input[name="username"]', "resend.me")
    page.fill('input[name="password1"]', "a-long-Secret-42!")
    page.fill('input[name="password2"]', "a-long-Secret-42!")
    page.fill('input[name="date_of_birth"]', "1994-03-12")
    page.get_by_role("button", name="Sign up", exact=True).click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))
    first = _code(page.context)
    resend = page.get_by_role("button", name="Resend code")
    expect(resend).to_be_visible()
    screenshot(page, "words-confirm-code-390")
    resend.click()
    page.wait_for_url(re.compile(r"/accounts/confirm-email/"))
    page.wait_for_load_state()
    second = _code(page.context)
    assert second != first
    page.fill('input[name="code"]', second)
    page.get_by_role("button", name="Confirm").click()
    page.wait_for_url(lambda url: "/accounts/" not in url)

    desktop = new_context(viewport=DESKTOP, touch=False).new_page()
    desktop.goto("/accounts/login/")
    expect(desktop.get_by_role("heading", name="Log in", exact=True)).to_be_visible()
    expect(desktop.get_by_role("button", name="Log in", exact=True)).to_be_visible()
    assert not re.search(r"sign[ -]?in", desktop.content(), re.IGNORECASE)
    screenshot(desktop, "words-login-1280")
    assert page_errors.uncaught == []
