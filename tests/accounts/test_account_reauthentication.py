"""Our own sensitive account endpoints need a recent re-authentication (issue 11, item 1,
"the same class of bug elsewhere"): with only a stolen session token one could rename the
owner (and take the old name, the cool-down stopping the way back), deactivate or delete
the account, or export and download everything. Ending sessions and logging out stay open
to a token alone: that is how the owner throws a thief out.

Through allauth's real headless endpoints (app and browser clients) and its web page."""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.test import Client
from drf_spectacular.generators import SchemaGenerator

from apps.accounts import services
from apps.accounts.models import DataExport, User
from tests.accounts.conftest import (
    APP,
    BROWSER,
    PASSWORD,
    MobileClient,
    error_of,
    reauthenticated_api_client,
    totp_now,
)

pytestmark = pytest.mark.django_db


def _ready_export(user: User) -> DataExport:
    export = DataExport.objects.create(user=user)
    assert services.data_export_build(export_id=export.pk) is True
    return export


# Each sensitive call: how to make it, and whether it took effect.
Call = Callable[[MobileClient, User], Any]
Effect = Callable[[User], bool]


def _rename(client: MobileClient, user: User) -> Any:
    return client.post("/api/v1/me/username", {"username": "taken_over"})


def _renamed(user: User) -> bool:
    return User.objects.filter(pk=user.pk, username="taken_over").exists()


def _deactivate(client: MobileClient, user: User) -> Any:
    return client.post("/api/v1/me/deactivate")


def _deactivated(user: User) -> bool:
    return User.objects.filter(pk=user.pk, deactivated_at__isnull=False).exists()


def _delete(client: MobileClient, user: User) -> Any:
    return client.post("/api/v1/me/delete", {"password": PASSWORD})


def _deleting(user: User) -> bool:
    return User.objects.filter(pk=user.pk, deletion_scheduled_for__isnull=False).exists()


def _export(client: MobileClient, user: User) -> Any:
    return client.post("/api/v1/me/exports")


def _exported(user: User) -> bool:
    return DataExport.objects.filter(user=user).exists()


def _download(client: MobileClient, user: User) -> Any:
    export = DataExport.objects.get(user=user)
    return client.get(f"/account-data/exports/{export.pk}/download")


SENSITIVE: dict[str, tuple[Call, Effect, int]] = {
    "username": (_rename, _renamed, 200),
    "deactivate": (_deactivate, _deactivated, 200),
    "delete": (_delete, _deleting, 200),
    "export": (_export, _exported, 202),
    "download": (_download, lambda user: False, 200),
}


def _arrange(name: str, user: User) -> None:
    if name == "download":
        _ready_export(user)


def _logged_in(user: User, device_id: str = "owner-phone") -> MobileClient:
    client = MobileClient(device_id=device_id)
    assert client.login(user.username).status_code == 200
    return client


def _assert_reauthentication_required(response: Any, *, base: str = APP) -> None:
    assert response.status_code == 401, response.content
    error = error_of(response)
    assert error["code"] == "reauthentication_required"
    # the client is told what to send, and where
    assert f"POST {base}/auth/reauthenticate" in error["message"], error["message"]
    assert "5 minutes" in error["message"]
    assert response["WWW-Authenticate"]


def _rewind_reauthentication(session_key: str, seconds: float) -> None:
    """Makes the session's recorded authentications `seconds` older (as if time passed)."""
    store = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    records = store[AUTHENTICATION_METHODS_SESSION_KEY]
    store[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {**record, "at": record["at"] - seconds} for record in records]
    store.save()


@pytest.mark.parametrize("name", list(SENSITIVE))
def test_a_token_alone_is_refused_and_changes_nothing(user, name):
    call, took_effect, _ = SENSITIVE[name]
    _arrange(name, user)
    thief = MobileClient(device_id="thief-phone")
    thief.token = _logged_in(user).token  # stolen: a logged-in session, no password

    response = call(thief, user)

    _assert_reauthentication_required(response)
    assert not took_effect(user)
    assert thief.get("/api/v1/me").status_code == 200  # the token itself still works
    if name == "export":
        assert not DataExport.objects.filter(user=user).exists()


@pytest.mark.parametrize("name", list(SENSITIVE))
def test_after_reauthenticating_it_works_until_the_window_closes(user, name):
    call, took_effect, ok = SENSITIVE[name]
    _arrange(name, user)
    owner = _logged_in(user)
    # a fresh log-in is not a re-authentication (as for allauth's e-mail and 2FA changes)
    _assert_reauthentication_required(call(owner, user))
    owner.reauthenticate()
    # more than 5 minutes later the re-authentication no longer counts
    assert owner.token
    _rewind_reauthentication(owner.token, settings.ACCOUNT_REAUTHENTICATION_TIMEOUT + 1)
    _assert_reauthentication_required(call(owner, user))
    assert not took_effect(user)

    owner.reauthenticate()
    _rewind_reauthentication(owner.token, settings.ACCOUNT_REAUTHENTICATION_TIMEOUT - 30)
    response = call(owner, user)

    assert response.status_code == ok, response.content
    if name == "download":
        assert response["Content-Type"] == "application/zip"
    else:
        assert took_effect(user)


def test_the_thief_cannot_but_the_owner_can_throw_the_other_session_out(user):
    owner = _logged_in(user)
    thief = MobileClient(device_id="thief-phone")
    thief.token = _logged_in(user, "lost-phone").token
    _assert_reauthentication_required(_deactivate(thief, user))

    # ending sessions needs no re-authentication: the owner ends the stolen one ...
    stolen = UserSession.objects.get(session_key=thief.token)
    assert owner.delete(f"/api/v1/me/sessions/{stolen.pk}").status_code == 204
    assert thief.get("/api/v1/me").status_code == 401
    # ... or all the others, and logs out
    spare = _logged_in(user, "owner-tablet")
    assert owner.post("/api/v1/me/sessions/revoke-all", {"keep_current": True}).json() == {
        "ended": 1}
    assert spare.get("/api/v1/me").status_code == 401
    assert owner.delete(f"{APP}/auth/session").status_code == 401  # allauth: logged out
    assert owner.get("/api/v1/me").status_code == 401
    assert not _deactivated(user)


def test_a_two_factor_account_is_told_of_the_code_and_may_use_it(user):
    owner = _logged_in(user)
    owner.reauthenticate()
    secret = owner.get(f"{APP}/account/authenticators/totp").json()["meta"]["secret"]
    assert owner.post(f"{APP}/account/authenticators/totp",
                      {"code": totp_now(secret)}).status_code == 200
    codes = owner.get(f"{APP}/account/authenticators/recovery-codes").json()
    recovery = codes["data"]["unused_codes"]
    later = MobileClient(device_id="owner-tablet")
    later.login(user.username)
    assert later.post(f"{APP}/auth/2fa/authenticate",
                      {"code": recovery[0]}).status_code == 200

    refused = _rename(later, user)
    _assert_reauthentication_required(refused)
    assert f"POST {APP}/auth/2fa/reauthenticate" in error_of(refused)["message"]

    # the authenticator app's code re-authenticates too
    reauthenticated = later.post(f"{APP}/auth/2fa/reauthenticate", {"code": totp_now(secret)})
    assert reauthenticated.status_code == 200, reauthenticated.content
    assert _rename(later, user).status_code == 200
    assert _renamed(user)


def test_the_browser_client_reauthenticates_with_its_cookie_session(user):
    browser = Client()
    response = browser.post(f"{BROWSER}/auth/login",
                            {"username": user.username, "password": PASSWORD},
                            content_type="application/json")
    assert response.status_code == 200, response.content
    refused = browser.post("/api/v1/me/username", {"username": "taken_over"},
                           content_type="application/json")
    _assert_reauthentication_required(refused, base=BROWSER)

    assert browser.post(f"{BROWSER}/auth/reauthenticate", {"password": PASSWORD},
                        content_type="application/json").status_code == 200
    renamed = browser.post("/api/v1/me/username", {"username": "taken_over"},
                           content_type="application/json")
    assert renamed.status_code == 200, renamed.content
    assert _renamed(user)


def test_a_web_download_goes_to_allauths_reauthentication_page_and_back(user):
    export = _ready_export(user)
    url = f"/account-data/exports/{export.pk}/download"
    browser = Client()
    browser.force_login(user)

    response = browser.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"/accounts/reauthenticate/?next={url.replace('/', '%2F')}"
    page = browser.post(response["Location"], {"password": PASSWORD})
    assert page.status_code == 302
    assert page["Location"] == url
    download = browser.get(url)
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"


def test_the_helper_for_other_tests_reauthenticates_through_allauth(user):
    client = reauthenticated_api_client(user)
    assert client.post("/api/v1/me/username", {"username": "taken_over"},
                       format="json").status_code == 200


def test_the_schema_documents_the_refusal():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path, method in [("/api/v1/me/username", "post"), ("/api/v1/me/deactivate", "post"),
                         ("/api/v1/me/delete", "post"), ("/api/v1/me/exports", "post")]:
        unauthorized = schema["paths"][path][method]["responses"]["401"]
        assert "reauthentication_required" in unauthorized["description"], path
        assert "/auth/reauthenticate" in unauthorized["description"], path
    # ending sessions is documented without it (it needs none)
    revoke = schema["paths"]["/api/v1/me/sessions/revoke-all"]["post"]["responses"]["401"]
    assert "reauthentication_required" not in revoke["description"]


def test_a_stolen_token_is_no_password_guessing_oracle(user, settings):
    # the production limits (the test settings turn allauth's off)
    from swipeme_site.settings import base

    settings.ACCOUNT_RATE_LIMITS = base.ACCOUNT_RATE_LIMITS
    owner = _logged_in(user)
    thief = MobileClient(device_id="thief-phone")
    thief.token = _logged_in(user, "lost-phone").token

    guesses = [thief.post(f"{APP}/auth/reauthenticate", {"password": f"guess-{n}"})
               for n in range(6)]

    # five wrong passwords per 5 minutes, as for log-ins (allauth allowed 10 a minute)
    assert [r.status_code for r in guesses] == [400] * 5 + [429]
    assert thief.post(f"{APP}/auth/reauthenticate",
                      {"password": PASSWORD}).status_code == 429
    _assert_reauthentication_required(_rename(thief, user))
    # and the owner, without re-authenticating, ends the session that was guessing
    stolen = UserSession.objects.get(session_key=thief.token)
    assert owner.delete(f"/api/v1/me/sessions/{stolen.pk}").status_code == 204
    assert thief.get("/api/v1/me").status_code == 401
