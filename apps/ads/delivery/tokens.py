"""The served-ad token: what the feed hands the client with each ad, and the only thing
measurement trusts when the client reports an impression, a view or a click.

Signed with django.core.signing under its own salt, so a client can read it but not
change a field (the price, the ad, the viewer) or forge one. It carries everything billing
needs, so measurement never re-runs or re-reads the auction: the auction id (one per
served slot, the dedupe key of its billable event), the ad, its ad group and campaign, the
price to charge in micros and the event that is billed (impression, click or 2-second
view, from the ad group's bid strategy), the viewer key (``u:<user id>`` or
``d:<device/session id>``) and when it was served.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.core import signing

from apps.core.ids import SEQUENCE_BITS, SHARD_BITS, SWIPEME_EPOCH_MS

SALT = "ads.delivery.served-ad"
# A served ad older than this is not measured (nor billed): a day covers a feed page left
# open overnight; replaying an old token gets nothing.
MAX_AGE_SECONDS = 24 * 3600

BILLING_EVENTS = ("impression", "click", "view_2s")

_PROCESS_TAG = secrets.randbits(SHARD_BITS)
_sequence = itertools.count(secrets.randbits(SEQUENCE_BITS))
_id_lock = threading.Lock()


class InvalidAdTokenError(Exception):
    """A token that was changed, is too old, or does not hold a served ad."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class ServedAd:
    auction_id: str
    ad_id: int
    ad_group_id: int
    campaign_id: int
    price_micros: int  # what the billable event costs (second price), never above the bid
    billing_event: str  # one of BILLING_EVENTS
    viewer_key: str  # "u:<user id>" or "d:<device or session id>"
    served_at: datetime


def new_auction_id() -> str:
    """A 64-bit, time-ordered id for one auction (one served slot), as a decimal string
    (it fits a bigint). Minted in the process, no database round trip on the feed's path:
    the core ids' layout (41 bits of milliseconds since SWIPEME_EPOCH, 10 bits, 13 bits)
    with a random per-process tag in the middle bits and a per-process counter below, so
    ids never repeat within a process and two processes collide only on the same
    millisecond, the same tag (1 in 1,024) and the same counter value."""
    with _id_lock:
        sequence = next(_sequence) % (1 << SEQUENCE_BITS)
    ms = time.time_ns() // 1_000_000 - SWIPEME_EPOCH_MS
    return str((ms << (SHARD_BITS + SEQUENCE_BITS)) | (_PROCESS_TAG << SEQUENCE_BITS) | sequence)


def viewer_key_for(*, user_id: int | None, device_id: str | None) -> str:
    if user_id is not None:
        return f"u:{user_id}"
    if device_id:
        return f"d:{device_id[:64]}"
    raise ValueError("a served ad needs a viewer: a user id or a device/session id")


def make_token(served: ServedAd) -> str:
    if served.billing_event not in BILLING_EVENTS:
        raise ValueError(f"unknown billing event {served.billing_event!r}")
    if type(served.price_micros) is not int or served.price_micros < 0:
        raise ValueError("price_micros must be a non-negative int")
    return signing.dumps(
        {
            "x": served.auction_id,
            "a": served.ad_id,
            "g": served.ad_group_id,
            "c": served.campaign_id,
            "p": served.price_micros,
            "b": served.billing_event,
            "v": served.viewer_key,
            # milliseconds: the too-fast rule compares gaps of a second or two
            "ms": int(served.served_at.timestamp() * 1000),
        },
        salt=SALT,
        compress=True,
    )


def read_token(token: str, *, max_age: int = MAX_AGE_SECONDS) -> ServedAd:
    """The served ad a token names, or InvalidAdTokenError (changed, expired, malformed)."""
    if not isinstance(token, str) or len(token) > 1024:
        raise InvalidAdTokenError("This ad token is not valid.")
    try:
        data = signing.loads(token, salt=SALT, max_age=max_age)
    except signing.SignatureExpired:
        raise InvalidAdTokenError("This ad token has expired.") from None
    except (signing.BadSignature, ValueError, UnicodeDecodeError):
        raise InvalidAdTokenError("This ad token is not valid: it was cut or changed.") from None
    try:
        served = ServedAd(
            auction_id=_str(data["x"]),
            ad_id=_int(data["a"]),
            ad_group_id=_int(data["g"]),
            campaign_id=_int(data["c"]),
            price_micros=_int(data["p"]),
            billing_event=_str(data["b"]),
            viewer_key=_str(data["v"]),
            served_at=_served_at(data),
        )
    except (KeyError, TypeError, ValueError, OverflowError):
        raise InvalidAdTokenError("This ad token is not valid.") from None
    if served.billing_event not in BILLING_EVENTS or served.price_micros < 0:
        raise InvalidAdTokenError("This ad token is not valid.")
    return served


def _served_at(data: dict[str, object]) -> datetime:
    if "ms" in data:
        return datetime.fromtimestamp(_int(data["ms"]) / 1000, tz=UTC)
    # a token signed before the milliseconds (it lives a day): whole seconds
    return datetime.fromtimestamp(_int(data["t"]), tz=UTC)


def _int(value: object) -> int:
    if type(value) is not int:
        raise TypeError("not an int")
    return value


def _str(value: object) -> str:
    if not isinstance(value, str) or not value:
        raise TypeError("not a string")
    return value
