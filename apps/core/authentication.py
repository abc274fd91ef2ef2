from __future__ import annotations

from allauth.headless.contrib.rest_framework.authentication import XSessionTokenAuthentication
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.request import Request


class SessionTokenAuthentication(XSessionTokenAuthentication):  # type: ignore[misc]
    """allauth's app session token (`X-Session-Token`), with a WWW-Authenticate scheme so
    that DRF answers an unauthenticated call with 401 rather than 403."""

    def authenticate_header(self, request: Request) -> str:
        return 'Session-Token realm="api"'


class SessionTokenScheme(OpenApiAuthenticationExtension):  # type: ignore[no-untyped-call,misc]
    """Documents the session token in the OpenAPI schema (imported by CoreConfig.ready)."""

    target_class = "apps.core.authentication.SessionTokenAuthentication"
    name = "SessionToken"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "X-Session-Token",
            "description": "The session token from /_allauth/app/v1/auth/login or signup "
            "(meta.session_token). Web pages use the session cookie instead.",
        }
