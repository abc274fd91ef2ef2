"""A stolen session token must not take an account over (issue 11, item 1).

E-mail changes and 2FA need a recent re-authentication, the last verified address cannot
be removed, a password change needs the current password, and the old address is told of
every change with the links that secure the account. Through allauth's real headless
endpoints (app and browser clients) and its web pages."""

from __future__ import annotations

from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from tests.accounts.conftest import APP, PASSWORD, MobileClient, last_code, totp_now

pytestmark = pytest.mark.django_db

BROWSER = "/_allauth/browser/v1"
ATTACKER = "mallory@evil.example"


def _flow_ids(response: Any) -> set[str]:
    return {flow["id"] for flow in response.json()["data"]["flows"]}


def _assert_needs_reauthentication(response: Any) -> None:
    assert response.status_code == 401, response.json()
    assert "reauthenticate" in _flow_ids(response)


def _mails_to(address: str) -> list[Any]:
    return [message for message in mail.outbox if address in message.to]


def _assert_security_notice(message: Any, *, says: str) -> None:
    body = str(message.body)
    assert says in body, body
    assert "/accounts/password/reset/" in body  # reset the password
    assert "/settings/sessions" in body  # see and end sessions


@pytest.fixture
def thief(user):
    """A client holding only the owner's session token (no password, no re-auth)."""
    owner = MobileClient(device_id="owner-phone")
    assert owner.login(user.username).status_code == 200
    stolen = MobileClient(device_id="thief-phone")
    stolen.token = owner.token
    mail.outbox.clear()
    return stolen


def test_a_stolen_token_cannot_swap_the_accounts_email(user, thief):
    # when the thief removes the owner's only (verified) address
    removed = thief.delete(f"{APP}/account/email", data={"email": user.email},
                           content_type="application/json")
    # then it is refused in words: it is the last verified address
    assert removed.status_code == 400, removed.json()
    assert removed.json()["errors"][0]["param"] == "email"
    assert "only verified" in removed.json()["errors"][0]["message"]
    # and adding their own address or making one primary needs a fresh re-authentication
    _assert_needs_reauthentication(thief.post(f"{APP}/account/email", {"email": ATTACKER}))
    _assert_needs_reauthentication(
        thief.patch(f"{APP}/account/email", {"email": user.email, "primary": True}))
    assert list(EmailAddress.objects.filter(user=user).values_list("email", flat=True)) == [
        user.email]
    assert _mails_to(ATTACKER) == []
    # and a re-authentication needs the password the thief does not have
    wrong = thief.post(f"{APP}/auth/reauthenticate", {"password": "guess"})
    assert wrong.status_code == 400
    _assert_needs_reauthentication(thief.post(f"{APP}/account/email", {"email": ATTACKER}))


def test_the_owner_changes_email_after_reauthenticating_and_the_old_address_is_told(user):
    owner = MobileClient()
    owner.login(user.username)
    mail.outbox.clear()
    assert owner.post(f"{APP}/auth/reauthenticate", {"password": PASSWORD}).status_code == 200

    # when a new address is added
    added = owner.post(f"{APP}/account/email", {"email": "nina.new@example.com"})
    assert added.status_code == 200, added.json()
    verified = owner.post(f"{APP}/auth/email/verify",
                          {"key": last_code("nina.new@example.com")})
    assert verified.status_code == 200, verified.json()
    # then the old address hears of it
    [notice] = _mails_to(user.email)
    _assert_security_notice(notice, says="nina.new@example.com has been added")

    # when the new one is made primary
    primary = owner.patch(f"{APP}/account/email",
                          {"email": "nina.new@example.com", "primary": True})
    assert primary.status_code == 200, primary.json()
    # then the old address is told the primary changed
    changed = _mails_to(user.email)[-1]
    _assert_security_notice(changed, says=f"changed from {user.email} to nina.new@example.com")

    # when the old address is removed, it is told too (it may be the real owner's)
    removed = owner.delete(f"{APP}/account/email", data={"email": user.email},
                           content_type="application/json")
    assert removed.status_code == 200, removed.json()
    _assert_security_notice(_mails_to(user.email)[-1], says=f"{user.email} has been removed")
    assert list(EmailAddress.objects.filter(user=user).values_list("email", flat=True)) == [
        "nina.new@example.com"]


def test_the_last_verified_address_stays_even_after_reauthenticating(user):
    owner = MobileClient()
    owner.login(user.username)
    owner.post(f"{APP}/auth/reauthenticate", {"password": PASSWORD})
    # an unverified second address does not count as somewhere to reach the owner
    EmailAddress.objects.create(user=user, email="typo@example.com", verified=False)
    refused = owner.delete(f"{APP}/account/email", data={"email": user.email},
                           content_type="application/json")
    assert refused.status_code == 400, refused.json()
    # and the unverified one may go
    gone = owner.delete(f"{APP}/account/email", data={"email": "typo@example.com"},
                        content_type="application/json")
    assert gone.status_code == 200, gone.json()
    assert EmailAddress.objects.filter(user=user, verified=True).count() == 1


def test_a_reauthentication_expires(user, settings):
    owner = MobileClient()
    owner.login(user.username)
    owner.post(f"{APP}/auth/reauthenticate", {"password": PASSWORD})
    settings.ACCOUNT_REAUTHENTICATION_TIMEOUT = 0
    _assert_needs_reauthentication(owner.post(f"{APP}/account/email",
                                              {"email": "later@example.com"}))


def test_two_factor_changes_need_a_reauthentication_and_are_notified(
        user, thief, django_capture_on_commit_callbacks):
    # the thief cannot set up TOTP (which would lock the owner out), even with a valid code
    thief_secret = thief.get(f"{APP}/account/authenticators/totp").json()["meta"]["secret"]
    _assert_needs_reauthentication(thief.post(f"{APP}/account/authenticators/totp",
                                              {"code": totp_now(thief_secret)}))
    owner = MobileClient()
    owner.login(user.username)
    owner.post(f"{APP}/auth/reauthenticate", {"password": PASSWORD})
    secret = owner.get(f"{APP}/account/authenticators/totp").json()["meta"]["secret"]
    with django_capture_on_commit_callbacks(execute=True):  # allauth mails after commit
        activated = owner.post(f"{APP}/account/authenticators/totp",
                               {"code": totp_now(secret)})
    assert activated.status_code == 200, activated.json()
    _assert_security_notice(_mails_to(user.email)[-1], says="Authenticator app activated")
    # once TOTP is on, the stolen token cannot remove it or regenerate recovery codes
    _assert_needs_reauthentication(thief.delete(f"{APP}/account/authenticators/totp"))
    _assert_needs_reauthentication(
        thief.post(f"{APP}/account/authenticators/recovery-codes"))
    _assert_needs_reauthentication(thief.get(f"{APP}/account/authenticators/recovery-codes"))


def test_password_change_needs_the_current_password_and_is_notified(user, thief):
    refused = thief.post(f"{APP}/account/password/change", {"new_password": "n3w-Secret-pass"})
    assert refused.status_code == 400
    assert {e["param"] for e in refused.json()["errors"]} == {"current_password"}
    user.refresh_from_db()
    assert user.check_password(PASSWORD)

    owner = MobileClient()
    owner.login(user.username)
    changed = owner.post(f"{APP}/account/password/change",
                         {"current_password": PASSWORD, "new_password": "n3w-Secret-pass"})
    assert changed.status_code == 200, changed.json()
    _assert_security_notice(_mails_to(user.email)[-1], says="password has been changed")


def test_a_password_reset_is_notified_with_the_links(user):
    client = MobileClient()
    client.post(f"{APP}/auth/password/request", {"email": user.email})
    client.post(f"{APP}/auth/password/reset",
                {"key": last_code(user.email), "password": "n3w-Secret-pass"})
    _assert_security_notice(_mails_to(user.email)[-1], says="password has been reset")


def test_the_browser_client_needs_a_reauthentication_too(user):
    browser = Client()
    response = browser.post(f"{BROWSER}/auth/login",
                            {"username": user.username, "password": PASSWORD},
                            content_type="application/json")
    assert response.status_code == 200, response.json()
    _assert_needs_reauthentication(browser.post(f"{BROWSER}/account/email",
                                                {"email": ATTACKER},
                                                content_type="application/json"))
    assert not EmailAddress.objects.filter(email=ATTACKER).exists()


def test_the_web_email_page_sends_to_reauthentication_first(user):
    browser = Client()
    browser.force_login(user)
    response = browser.post("/accounts/email/", {"action_add": "", "email": ATTACKER})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/reauthenticate/")
    assert not EmailAddress.objects.filter(email=ATTACKER).exists()
    # and once re-authenticated the same page adds it
    page = browser.post("/accounts/reauthenticate/", {"password": PASSWORD})
    assert page.status_code == 302
    mail.outbox.clear()
    browser.post("/accounts/email/", {"action_add": "", "email": "second@example.com"})
    assert last_code("second@example.com")  # the verification code went out



def test_the_web_email_page_keeps_the_last_verified_address(user):
    browser = Client()
    browser.force_login(user)
    browser.post("/accounts/reauthenticate/", {"password": PASSWORD})
    response = browser.post("/accounts/email/", {"action_remove": "", "email": user.email},
                            follow=True)
    assert response.status_code == 200
    assert "only verified" in response.content.decode()
    assert EmailAddress.objects.filter(user=user, email=user.email, verified=True).exists()
