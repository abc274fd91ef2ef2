"""The caller's device id: the one definition of where it comes from and what is accepted.

A signed-out visitor is known by a device id: the mobile clients' `X-Device-Id` header (an
install id the app keeps) or, on the web, the `swipeme_did` cookie that static/js/flags.js
sets on the first page. Experiments bucket a visitor by it (`d:<device id>`) and the events
API stamps it into each logged batch's client info (`device_id`), so the event lake can
join a visitor's events to its assignment. Events is the lowest app that needs it;
experiments imports it from here, so there is one name and one validation.

Only short ids of safe characters are accepted (what the clients generate: a UUID, an
install id); anything else is no device id at all rather than something truncated, so a
header cannot smuggle arbitrary text into the log, the lake or an assignment's unit.
"""

from __future__ import annotations

import re
from typing import Final

from django.http import HttpRequest

DEVICE_COOKIE: Final = "swipeme_did"
DEVICE_HEADER: Final = "X-Device-Id"
MAX_DEVICE_ID_LENGTH: Final = 64
_DEVICE_ID = re.compile(rf"[A-Za-z0-9._:-]{{1,{MAX_DEVICE_ID_LENGTH}}}")


def valid_device_id(value: object) -> str | None:
    """The id when it is acceptable (surrounding blanks ignored), else None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value if _DEVICE_ID.fullmatch(value) else None


def request_device_id(request: HttpRequest) -> str | None:
    """The request's device id: the header when present, else the web's cookie; None when
    neither is given or the one given is not acceptable (a bad header does not fall back to
    the cookie: the client said which device it is)."""
    header = request.headers.get(DEVICE_HEADER)
    if header is not None and header.strip():
        return valid_device_id(header)
    return valid_device_id(request.COOKIES.get(DEVICE_COOKIE))
