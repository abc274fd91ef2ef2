"""Issue 12, item 9: the words people read — e-mails name SwipeMe and its domain, one
wording for logging in, a date-of-birth hint that matches its date picker, and a way to get
a new verification code."""

from __future__ import annotations

import re

import pytest
from allauth.account.models import EmailAddress
from django.contrib.sites.models import Site
from django.core import mail
from django.test import Client

from apps.accounts.models import User
from apps.web.site import site_domain, sync_site
from tests.accounts.conftest import PASSWORD, last_code
from tests.factories import UserFactory

SIGNUP = {"email": "new.person@swipeme.test", "username": "new.person", "password1": PASSWORD,
          "password2": PASSWORD, "date_of_birth": "1990-03-03"}


def _sign_up(client: Client) -> None:
    response = client.post("/accounts/signup/", SIGNUP)
    assert response.status_code == 302, response.content.decode()


@pytest.mark.django_db
def test_the_verification_email_names_swipeme_and_its_domain_not_example_com():
    _sign_up(Client())
    [message] = mail.outbox
    text = f"{message.subject}\n{message.body}"
    assert "example.com" not in text
    assert message.subject.startswith("[SwipeMe]")
    assert "Hello from SwipeMe!" in message.body
    assert site_domain() in message.body


@pytest.mark.django_db
def test_the_site_row_follows_settings_on_migrate(settings):
    settings.SITE_URL = "https://swipeme.example.org"
    Site.objects.update(domain="example.com", name="example.com")
    sync_site()  # what post_migrate runs (tests/web: the test database got it too)
    site = Site.objects.get_current()
    assert (site.name, site.domain) == ("SwipeMe", "swipeme.example.org")


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/accounts/signup/",
                                  "/accounts/password/reset/", "/accounts/login/code/"])
def test_the_auth_pages_say_log_in_never_sign_in(path):
    html = Client().get(path).content.decode()
    assert not re.search(r"sign[ -]?in", html, re.IGNORECASE), path


@pytest.mark.django_db
def test_the_log_in_page_and_the_header_use_the_same_words():
    html = Client().get("/accounts/login/").content.decode()
    assert re.search(r"<title>\s*Log in\s*· SwipeMe</title>", html)
    assert re.search(r'<button[^>]*type="submit"[^>]*>\s*Log in\s*</button>', html)
    signup = Client().get("/accounts/signup/").content.decode()
    assert re.search(r"Already have an account\? <a [^>]*>Log in</a>", signup)


@pytest.mark.django_db
def test_the_date_of_birth_hint_does_not_contradict_the_date_picker():
    html = Client().get("/accounts/signup/").content.decode()
    field = re.search(r'<input[^>]*name="date_of_birth"[^>]*>', html)
    assert field
    assert 'type="date"' in field.group(0)
    hint = re.search(r'<span class="helptext" id="id_date_of_birth_helptext">(.*?)</span>',
                     html, re.S)
    assert hint
    # a picker shows the browser's own date format; the hint must not name another one
    assert not re.search(r"YYYY|MM|DD|\d{4}-\d{2}-\d{2}", hint.group(1))
    assert "old enough" in hint.group(1)


@pytest.mark.django_db
def test_the_verification_code_screen_resends_a_new_code():
    client = Client()
    _sign_up(client)
    first = last_code(SIGNUP["email"])
    page = client.get("/accounts/confirm-email/")
    assert page.status_code == 200
    html = page.content.decode()
    assert re.search(r"<button[^>]*form=\"resend\"[^>]*>\s*Resend code\s*</button>", html)

    response = client.post("/accounts/confirm-email/", {"action": "resend"})
    assert response.status_code == 302
    assert len(mail.outbox) == 2
    second = last_code(SIGNUP["email"])
    assert second != first
    # the new code verifies the address and logs the person in
    response = client.post("/accounts/confirm-email/", {"code": second})
    assert response.status_code == 302
    user = User.objects.get(username=SIGNUP["username"])
    assert EmailAddress.objects.get(user=user).verified


@pytest.mark.django_db
def test_the_settings_page_says_log_in_too():
    client = Client()
    client.force_login(UserFactory())
    html = client.get("/settings/account").content.decode()
    assert "Log-in and security" in html
    assert not re.search(r"sign[ -]?in", html, re.IGNORECASE)


@pytest.mark.django_db
def test_the_sessions_tab_says_log_out_never_sign_out():
    client = Client()
    client.force_login(UserFactory())
    html = client.get("/settings/sessions").content.decode()
    assert "Log out of all other sessions" in html
    assert not re.search(r"sign(ed)?[ -]?(in|out)", html, re.IGNORECASE)


@pytest.mark.django_db
def test_the_log_in_form_speaks_plainly():
    """allauth's own labels: the field is not a "Login", "Remember Me" is not a title."""
    html = Client().get("/accounts/login/").content.decode()
    assert re.search(r"<label[^>]*>\s*Username or e-mail:?\s*</label>", html)
    assert re.search(r"<label[^>]*>\s*Remember me:?\s*</label>", html)
    assert "New to SwipeMe? <a" in html
    assert ">Login:<" not in html
    assert "Remember Me" not in html
    assert "then please" not in html
