"""Unsubscribe tokens: signed (django.core.signing) for one person and one mailing list,
so the link in an e-mail works without signing in and cannot be turned to another
person or list."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core import signing

SALT = "notifications.unsubscribe"
# The lists a person can leave from an e-mail, in words for the pages.
LISTS = {"digest": "the SwipeMe e-mail digest"}


class InvalidTokenError(Exception):
    """A token that was changed, is too old or names nothing we send."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Unsubscribe:
    user_id: int
    list_name: str


def make_token(*, user_id: int, list_name: str) -> str:
    if list_name not in LISTS:
        raise ValueError(f"unknown list {list_name!r}")
    return signing.dumps({"u": user_id, "l": list_name}, salt=SALT)


def read_token(token: str) -> Unsubscribe:
    try:
        data = signing.loads(token, salt=SALT,
                             max_age=settings.SWIPEME_UNSUBSCRIBE_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        raise InvalidTokenError("This unsubscribe link has expired.") from None
    except signing.BadSignature:
        raise InvalidTokenError("This unsubscribe link is not valid: it may have been cut "
                           "or changed.") from None
    if (not isinstance(data, dict) or not isinstance(data.get("u"), int)
            or data.get("l") not in LISTS):
        raise InvalidTokenError("This unsubscribe link is not valid.")
    return Unsubscribe(user_id=data["u"], list_name=str(data["l"]))
