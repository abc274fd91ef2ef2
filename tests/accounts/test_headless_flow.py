"""The mobile auth flow end to end through allauth's headless app API."""

from __future__ import annotations

from datetime import date

import pytest
from allauth.usersessions.models import UserSession
from django.core import mail

from apps.accounts.models import Device, User
from tests.accounts.conftest import APP, PASSWORD, MobileClient, last_code, totp_now
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _signup(client: MobileClient, **overrides: object):
    body = {"email": "nina@example.com", "username": "nina", "password": PASSWORD,
            "date_of_birth": "2000-02-29", **overrides}
    return client.post(f"{APP}/auth/signup", body)


def test_signup_verify_and_use_the_api_with_the_session_token(mobile):
    # given a new person on the iOS app
    # when they sign up
    response = _signup(mobile)
    # then the e-mail must be verified first (401 with a pending verify_email flow)
    assert response.status_code == 401, response.json()
    flows = {flow["id"]: flow for flow in response.json()["data"]["flows"]}
    assert flows["verify_email"].get("is_pending") is True
    user = User.objects.get(username="nina")
    assert user.date_of_birth == date(2000, 2, 29)
    assert not user.is_minor

    # when they post the code from the e-mail
    response = mobile.post(f"{APP}/auth/email/verify", {"key": last_code("nina@example.com")})
    # then they are logged in and hold a session token
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["user"]["username"] == "nina"
    assert response.json()["data"]["user"]["id"] == str(user.pk)  # 64-bit ids as strings
    assert mobile.token

    me = mobile.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["id"] == str(user.pk)
    assert me.json()["username"] == "nina"
    # and the log-in recorded the device and its allauth session
    device = Device.objects.get(user=user)
    assert (device.platform, device.app_version, device.device_identifier) == (
        "ios", "1.4.0", "install-aaaa-1111")
    assert device.session_key == mobile.token
    assert UserSession.objects.filter(user=user, session_key=mobile.token).exists()


def test_login_logout_and_a_logged_out_token_stops_working(user):
    client = MobileClient(device_id="dev-2", platform="android", version="2.0.1")
    response = client.login(user.email)
    assert response.status_code == 200, response.json()
    token = client.token
    assert client.get("/api/v1/me").status_code == 200

    response = client.delete(f"{APP}/auth/session")
    assert response.status_code == 401
    client.token = token
    assert client.get("/api/v1/me").status_code == 401


def test_wrong_password_is_refused_and_no_session_is_created(user):
    client = MobileClient()
    response = client.login(user.username, "not-the-password")
    assert response.status_code == 400
    assert client.token is None
    assert not UserSession.objects.filter(user=user).exists()
    assert not Device.objects.filter(user=user).exists()


def test_password_reset_by_code(user):
    client = MobileClient()
    # given a reset requested
    response = client.post(f"{APP}/auth/password/request", {"email": user.email})
    assert response.status_code == 401, response.json()
    flows = {flow["id"]: flow for flow in response.json()["data"]["flows"]}
    assert flows["password_reset_by_code"].get("is_pending") is True
    code = last_code(user.email)
    # when the code is checked and a new password set
    response = client.post(f"{APP}/auth/password/reset",
                           {"key": code, "password": "n3w-Secret-pass"})
    assert response.status_code in (200, 401), response.json()
    # then the new password logs in and the old one no longer does
    assert MobileClient().login(user.username, PASSWORD).status_code == 400
    assert MobileClient().login(user.username, "n3w-Secret-pass").status_code == 200


def test_password_change_needs_the_current_password(user):
    client = MobileClient()
    client.login(user.username)
    other = MobileClient(device_id="other-phone")
    other.login(user.username)
    refused = client.post(f"{APP}/account/password/change",
                          {"current_password": "wrong", "new_password": "n3w-Secret-pass"})
    assert refused.status_code == 400
    user.refresh_from_db()
    assert user.check_password(PASSWORD)

    changed = client.post(f"{APP}/account/password/change",
                          {"current_password": PASSWORD, "new_password": "n3w-Secret-pass"})
    assert changed.status_code == 200, changed.json()
    user.refresh_from_db()
    assert user.check_password("n3w-Secret-pass")
    # the session that changed it lives on; the others are logged out
    assert client.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401


def test_totp_setup_then_login_needs_the_code(user):
    client = MobileClient()
    client.login(user.username)
    # given TOTP being set up (allauth wants a fresh re-authentication for that)
    assert client.post(f"{APP}/auth/reauthenticate", {"password": PASSWORD}).status_code == 200
    response = client.get(f"{APP}/account/authenticators/totp")
    assert response.status_code == 404
    secret = response.json()["meta"]["secret"]
    response = client.post(f"{APP}/account/authenticators/totp", {"code": totp_now(secret)})
    assert response.status_code == 200, response.json()

    # when logging in again on another device
    other = MobileClient(device_id="second-phone")
    response = other.login(user.username)
    # then the password alone is not enough
    assert response.status_code == 401
    flows = {flow["id"]: flow for flow in response.json()["data"]["flows"]}
    assert flows["mfa_authenticate"].get("is_pending") is True
    assert other.get("/api/v1/me").status_code == 401
    assert not Device.objects.filter(user=user, device_identifier="second-phone").exists()

    # and a wrong code is refused, the right one logs in
    assert other.post(f"{APP}/auth/2fa/authenticate", {"code": "000000"}).status_code == 400
    response = other.post(f"{APP}/auth/2fa/authenticate", {"code": totp_now(secret)})
    assert response.status_code == 200, response.json()
    assert other.get("/api/v1/me").status_code == 200
    assert Device.objects.filter(user=user, device_identifier="second-phone").exists()


@pytest.mark.parametrize(
    ("dob", "accepted"),
    [("2020-01-01", False), ("2999-01-01", False), ("1850-05-05", False), ("not-a-date", False),
     ("1990-01-01", True)],
)
def test_signup_date_of_birth_rules(dob, accepted):
    client = MobileClient()
    response = _signup(client, date_of_birth=dob)
    if accepted:
        assert response.status_code == 401
        assert User.objects.filter(username="nina").exists()
    else:
        assert response.status_code == 400
        params = {error.get("param") for error in response.json()["errors"]}
        assert params == {"date_of_birth"}
        assert not User.objects.filter(username="nina").exists()
        assert mail.outbox == []


def test_a_thirteen_year_old_signs_up_as_a_minor():
    today = date.today()
    born = date(today.year - 13, today.month, 1 if today.day > 1 else today.day)
    client = MobileClient()
    response = _signup(client, date_of_birth=born.isoformat())
    assert response.status_code == 401
    assert User.objects.get(username="nina").is_minor


@pytest.mark.parametrize("username", ["admin", "Support", "a", "x" * 25, "bad..dots", ".dot",
                                      "with space", "pаypal", "adm1n"])
def test_signup_refuses_bad_usernames(username):
    response = _signup(MobileClient(), username=username)
    assert response.status_code == 400
    assert {e.get("param") for e in response.json()["errors"]} == {"username"}
    assert not User.objects.filter(email="nina@example.com").exists()


def test_signup_refuses_a_lookalike_of_an_existing_username():
    UserFactory(username="paypal")
    response = _signup(MobileClient(), username="PayPa1")
    assert response.status_code == 400
    assert {e.get("param") for e in response.json()["errors"]} == {"username"}
    assert not User.objects.filter(email="nina@example.com").exists()
