"""An account with no e-mail address can still log in (issue 11, item 2): allauth's
mandatory verification used to stop it at `verify_email` with nowhere to send the code."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.core import mail
from django.test import Client

from tests.accounts.conftest import APP, PASSWORD, MobileClient, last_code
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def legacy():
    user = UserFactory(username="oldtimer", email="")
    assert not EmailAddress.objects.filter(user=user).exists()
    return user


def test_an_account_without_email_logs_in_with_its_password(legacy):
    client = MobileClient()
    response = client.login("oldtimer")
    assert response.status_code == 200, response.json()
    assert client.get("/api/v1/me").json()["username"] == "oldtimer"
    assert mail.outbox == []


def test_the_wrong_password_is_still_refused(legacy):
    client = MobileClient()
    assert client.login("oldtimer", "not-the-password").status_code == 400
    assert client.get("/api/v1/me").status_code == 401


def test_it_can_then_add_and_verify_an_address(legacy):
    client = MobileClient()
    client.login("oldtimer")
    assert client.post(f"{APP}/auth/reauthenticate", {"password": PASSWORD}).status_code == 200
    assert client.post(f"{APP}/account/email", {"email": "old@example.com"}).status_code == 200
    verified = client.post(f"{APP}/auth/email/verify", {"key": last_code("old@example.com")})
    assert verified.status_code == 200, verified.json()
    assert EmailAddress.objects.get(user=legacy).verified
    # and from then on the address is verified like anyone else's at log-in
    assert MobileClient().login("old@example.com").status_code == 200


def test_an_unverified_address_is_still_verified_at_login():
    user = UserFactory(username="pending", email="pending@example.com")
    EmailAddress.objects.filter(user=user).update(verified=False)
    client = MobileClient()
    response = client.login("pending")
    assert response.status_code == 401
    flows = {flow["id"]: flow for flow in response.json()["data"]["flows"]}
    assert flows["verify_email"].get("is_pending") is True
    assert last_code("pending@example.com")


def test_the_web_login_lets_it_in_too(legacy):
    client = Client()
    response = client.post("/accounts/login/", {"login": "oldtimer", "password": PASSWORD})
    assert response.status_code == 302
    assert "confirm-email" not in response["Location"]
    assert client.get("/settings/account").status_code == 200
