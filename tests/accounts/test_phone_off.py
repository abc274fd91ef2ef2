"""Accounts have no phone number: allauth's phone endpoints are not routed (they answered
500, NotImplementedError in the adapter's get_phone) and not documented (issue 11, item 3)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.accounts.conftest import APP, MobileClient

pytestmark = pytest.mark.django_db

PHONE_PATHS = ("account/phone", "auth/phone/verify", "auth/phone/verify/resend")


@pytest.mark.parametrize("client_kind", ["app", "browser"])
@pytest.mark.parametrize("path", PHONE_PATHS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_phone_endpoints_answer_404_signed_in_or_not(user, client_kind, path, method):
    mobile = MobileClient()
    if client_kind == "app":
        assert mobile.login(user.username).status_code == 200
        url = f"{APP}/{path}"
        response = (mobile.get(url) if method == "get"
                    else mobile.post(url, {"phone": "+447700900123"}))
    else:
        browser = Client()
        browser.force_login(user)
        url = f"/_allauth/browser/v1/{path}"
        response = getattr(browser, method)(url, {"phone": "+447700900123"},
                                            content_type="application/json")
    assert response.status_code == 404


def test_the_rest_of_allauth_is_still_routed(user):
    mobile = MobileClient()
    assert mobile.login(user.username).status_code == 200
    assert mobile.get(f"{APP}/auth/session").status_code == 200
    assert mobile.get(f"{APP}/account/email").status_code == 200


def test_phone_endpoints_are_left_out_of_both_schemas():
    served = Client().get("/_allauth/openapi.json")
    assert served.status_code == 200
    allauth_paths = served.json()["paths"]
    assert any(path.endswith("/auth/login") for path in allauth_paths)
    assert not [path for path in allauth_paths if "phone" in path]

    ours = Client().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert ours.status_code == 200
    paths = ours.json()["paths"]
    assert "/_allauth/app/v1/auth/login" in paths
    assert not [path for path in paths if "phone" in path]
