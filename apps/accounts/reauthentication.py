"""Recent re-authentication for our own sensitive account endpoints.

A session token (or cookie) alone must not rename, deactivate, delete or export an account:
whoever stole it would hold the account (a rename lets them take the old name with another
account, and the cool-down stops the owner renaming back; an export hands over everything
in one request). These endpoints therefore ask for what allauth asks for before an e-mail
or 2FA change: a re-authentication (password or 2FA code) within the last
ACCOUNT_REAUTHENTICATION_TIMEOUT seconds, recorded by allauth in the session the request
authenticates with. A log-in alone does not count, as for allauth's own endpoints.

`RecentlyAuthenticated` is the one check; views list it as their permission class.
"""

from __future__ import annotations

import copy
from typing import Any

from allauth.account import app_settings as allauth_account_settings
from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.reauthentication import (
    get_reauthentication_flows,
    is_reauthentication_required,
)
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.urls import reverse
from django.utils.http import urlencode
from rest_framework import exceptions
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.views import APIView

# The allauth "app" whose REAUTHENTICATION_REQUIRED switch governs ours too.
ALLAUTH_APP = "allauth.account"

CODE = "reauthentication_required"


class ReauthenticationRequired(exceptions.NotAuthenticated):
    """401 in the error shape (`apps.core.errors`), with the WWW-Authenticate header DRF
    adds to NotAuthenticated."""

    default_code = CODE
    default_detail = "Confirm it is you: re-authenticate, then repeat the request."


def _authenticating_session(request: Request) -> SessionBase:
    """The session the caller authenticated with: the app's X-Session-Token session
    (DRF puts it in request.auth), else the cookie session (web, allauth's browser client).
    allauth records re-authentications in that same session."""
    if isinstance(request.auth, SessionBase):
        return request.auth
    session: SessionBase = request._request.session
    return session


def uses_session_token(request: Request) -> bool:
    return isinstance(request.auth, SessionBase)


def needs_reauthentication(request: Request) -> bool:
    """True unless the signed-in caller re-authenticated within the window (allauth's own
    rule, applied to the session this request authenticated with)."""
    as_allauth_sees_it = copy.copy(request._request)
    as_allauth_sees_it.session = _authenticating_session(request)
    as_allauth_sees_it.user = request.user
    required: bool = is_reauthentication_required(as_allauth_sees_it, app=ALLAUTH_APP)
    return required


def _minutes() -> int:
    return max(1, int(allauth_account_settings.REAUTHENTICATION_TIMEOUT) // 60)


def refusal_message(request: Request) -> str:
    """Tells the client what to send, for the methods this user has."""
    base = "/_allauth/app/v1" if uses_session_token(request) else "/_allauth/browser/v1"
    flows = {flow["id"] for flow in get_reauthentication_flows(request.user)}
    ways = []
    if "reauthenticate" in flows:
        ways.append(f'your password (POST {base}/auth/reauthenticate {{"password"}})')
    if "mfa_reauthenticate" in flows:
        ways.append(f'a 2FA code (POST {base}/auth/2fa/reauthenticate {{"code"}})')
    how = " or ".join(ways) or "your password"
    return (f"For your security this needs a re-authentication within the last "
            f"{_minutes()} minutes. Confirm it is you with {how}, then repeat this request.")


class RecentlyAuthenticated(IsAuthenticated):
    """Signed in, and re-authenticated within the window; otherwise 401
    `reauthentication_required` (permissions run before throttles, so the refusal costs
    no write budget)."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        if not super().has_permission(request, view):
            return False  # DRF answers 401 not_authenticated
        if needs_reauthentication(request):
            raise ReauthenticationRequired(refusal_message(request))
        return True


def session_needs_reauthentication(request: HttpRequest) -> bool:
    """The web pages' check, on the browser's own session: allauth's rule, as above."""
    required: bool = is_reauthentication_required(request, app=ALLAUTH_APP)
    return required


def reauthenticate_url(request: HttpRequest | Request, next_url: str | None = None) -> str:
    """For web pages: allauth's re-authentication page (password, or 2FA when the account
    has no password), back to `next_url` (this page) afterwards."""
    methods: list[dict[str, Any]] = get_adapter().get_reauthentication_methods(request.user)
    url = methods[0]["url"] if methods else reverse("account_reauthenticate")
    return f"{url}?{urlencode({REDIRECT_FIELD_NAME: next_url or request.get_full_path()})}"
