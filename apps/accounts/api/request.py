"""Who is calling: request helpers every API view uses (identity lives in accounts)."""

from __future__ import annotations

from typing import Any, cast

from django.contrib.sessions.backends.base import SessionBase
from rest_framework import serializers
from rest_framework.request import Request

from apps.accounts.models import User


def viewer_of(request: Request) -> User | None:
    """The signed-in user, or None for an anonymous caller."""
    user = request.user
    return user if isinstance(user, User) and user.is_authenticated else None


def user_of(request: Request) -> User:
    """The signed-in user, for views whose permission class already requires one."""
    return cast(User, request.user)


def session_key_of(request: Request) -> str | None:
    """The session the request authenticated with: the app's X-Session-Token, else the web
    session cookie."""
    if isinstance(request.auth, SessionBase):  # X-Session-Token
        return request.auth.session_key
    session = getattr(request._request, "session", None)
    return session.session_key if session is not None else None


def require_no_fields(request: Request) -> None:
    """For writes that take no fields: a body that is not a JSON object is still a 400."""
    serializer: serializers.Serializer[Any] = serializers.Serializer(data=request.data or {})
    serializer.is_valid(raise_exception=True)
