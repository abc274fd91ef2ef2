"""The `Idempotency-Key` request header of the create endpoints that are not idempotent by
nature (a comment). During a PostgreSQL restart a write can commit and its answer still fail
(503), and the web client retries: the key, stored with the created row in the same
transaction under a unique (author, key) constraint, makes the retry return the original row
instead of creating a second one.

Views read the header with `idempotency_key(request)` and pass it to the owning app's service;
the service runs its create through `create_once`, which looks for the author's row with that
key first; the service's lookup answers a retry whose body differs with `key_reused()` (422:
the key was already spent on another request, following the IETF httpapi idempotency-key
draft; 409 is reserved there for a request still in flight, which cannot happen here because
the unique index makes the second insert wait for the first). Used by comments
(`comment_create_once`) and posts (`post_create_once`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar

from django.db import IntegrityError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import status
from rest_framework.request import Request

from apps.core.errors import ApplicationError

HEADER = "Idempotency-Key"
MAX_LENGTH = 64
# Visible ASCII without spaces, quotes or commas: a UUID, a ULID, any token a client makes.
_KEY = re.compile(rf"[A-Za-z0-9._:~+/=-]{{1,{MAX_LENGTH}}}")

PARAMETER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description=(
        f"A key the client makes for one user action (1-{MAX_LENGTH} characters of "
        "`A-Z a-z 0-9 . _ : ~ + / = -`, e.g. a UUID) and sends again on its retries. A retry "
        "with the same key answers 200 with the object the first request created instead of "
        "creating another; the same key with a different body is a 422 "
        "(`idempotency_key_reused`)."),
)


def idempotency_key(request: Request) -> str | None:
    """The request's `Idempotency-Key`, or None without one; a malformed key is a 400."""
    raw = request.headers.get(HEADER)
    if raw is None:
        return None
    if not _KEY.fullmatch(raw):
        raise ApplicationError(
            f"The {HEADER} header must be 1 to {MAX_LENGTH} characters of letters, digits "
            "and . _ : ~ + / = -",
            code="invalid_idempotency_key", fields={HEADER: ["Malformed key."]})
    return raw


def key_reused() -> ApplicationError:
    return ApplicationError(
        f"This {HEADER} was already used for a different request. Send a new key for a "
        "new action.", code="idempotency_key_reused",
        status_code=status.HTTP_422_UNPROCESSABLE_ENTITY)


T = TypeVar("T")


def create_once(key: str | None, *, find: Callable[[str], T | None],
                create: Callable[[str | None], T],
                raced: tuple[type[Exception], ...] = (IntegrityError,)) -> tuple[T, bool]:
    """`create(key)` for a request that may be a client's retry: with a key whose row
    `find(key)` returns (after checking the request is the same one), that row and False
    instead of creating it again (the first answer may have been lost, e.g. a 503 during a
    PostgreSQL restart after the commit). True when it created the row. `raced`: what
    `create` raises when the same key was in flight twice (the unique index made this insert
    wait for the other, which committed first); then the other's row is the answer."""
    if key is None:
        return create(None), True
    done = find(key)
    if done is not None:
        return done, False
    try:
        return create(key), True
    except raced:
        done = find(key)
        if done is None:
            raise
        return done, False
