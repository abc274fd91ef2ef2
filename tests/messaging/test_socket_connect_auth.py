"""The messages socket's connect with a mobile client's `X-Session-Token` (every socket of a
reconnect storm; the shared `authenticate_socket`'s token path, used by the notifications
and live chat sockets too): the same answer as allauth's general token path with a fresh
read of the user in every case (a
valid session, a deactivated person, a person whose deletion is scheduled, a password
changed since, an unknown or expired token), in 3 statements with the unread total (was 5);
and a socket worker's garbage collector set-up (`core.socket_gc`)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.accounts.models import User
from apps.messaging import socket_work
from apps.notifications.consumers import _is_usable
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

# the database call itself, without the trip to the socket's pool
connect_call: Any = socket_work.connect.func  # type: ignore[attr-defined]


def _token(user: User) -> str:
    store = SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.create()
    assert store.session_key is not None
    return store.session_key


def _scope(token: str) -> dict[str, Any]:
    return {"type": "websocket", "headers": [(b"x-session-token", token.encode())]}


def _general(scope: dict[str, Any]) -> tuple[Any, bool]:
    """The general path the fast one replaced: allauth's token authentication (the session's
    existence asked, then loaded), then the user read again and checked."""
    from allauth.headless.internal.sessionkit import authenticate_by_x_session_token

    token = dict(scope["headers"])[b"x-session-token"].decode("latin-1")
    found = authenticate_by_x_session_token(token)
    if not found:
        return None, False
    fresh = User.objects.filter(pk=found[0].pk).first()
    return (fresh if _is_usable(fresh) else None), True


def _both(scope: dict[str, Any]) -> tuple[tuple[Any, bool], tuple[Any, bool]]:
    user, logged_in, _ = connect_call(scope)
    shared = _general(scope)
    return (user, logged_in), shared


def test_a_valid_app_session_in_three_statements() -> None:
    user = UserFactory()
    scope = _scope(_token(user))
    connect_call(scope)  # the content types and the like read once
    with CaptureQueriesContext(connection) as queries:
        found, logged_in, unread = connect_call(scope)
    assert (found, logged_in, unread) == (user, True, 0)
    assert len(queries) == 3  # session, user, unread total


def test_every_case_answers_as_the_shared_check() -> None:
    ok, gone, leaving, changed = UserFactory(), UserFactory(), UserFactory(), UserFactory()
    tokens = {name: _token(u) for name, u in
              (("ok", ok), ("gone", gone), ("leaving", leaving), ("changed", changed))}
    User.objects.filter(pk=gone.pk).update(deactivated_at=timezone.now())
    User.objects.filter(pk=leaving.pk).update(
        deletion_scheduled_for=timezone.now() + timedelta(days=30))
    changed.set_password("a new one, elsewhere")  # the old sessions' hash no longer matches
    changed.save()
    expired = _token(ok)
    SessionStore(session_key=expired).delete()
    expected = {"ok": (ok, True), "gone": (None, True), "leaving": (None, True),
                "changed": (None, False), "expired": (None, False), "unknown": (None, False)}
    tokens.update(expired=expired, unknown="not-a-session-key-at-all")
    for name, token in tokens.items():
        mine, shared = _both(_scope(token))
        assert mine == shared, name
        assert mine == expected[name], name


def test_a_socket_worker_freezes_its_startup_heap_and_collects_less_often() -> None:
    """`socket_gc.tune_once` (the first `ws/messages/` connection of a process), in a
    process of its own (it is process-wide): what exists is frozen, the thresholds are the
    socket worker's, and a second connection changes nothing."""
    code = ("import gc, django; django.setup(); from apps.core import socket_gc; "
            "assert gc.get_freeze_count() == 0, 'frozen before'; "
            "assert gc.get_threshold() == (700, 10, 10), gc.get_threshold(); "
            "socket_gc.tune_once(); frozen = gc.get_freeze_count(); "
            "socket_gc.tune_once(); "
            "print(frozen, gc.get_freeze_count(), *gc.get_threshold())")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "DJANGO_SETTINGS_MODULE":
                                            os.environ.get("DJANGO_SETTINGS_MODULE",
                                                           "swipeme_site.settings.dev")},
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    frozen, again, *thresholds = (int(x) for x in done.stdout.split())
    assert frozen > 100_000  # Django and the apps
    assert again == frozen  # once per process
    assert tuple(thresholds) == (10_000, 10, 100)

