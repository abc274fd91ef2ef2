"""The server's VAPID key pair (RFC 8292): from the environment in production
(SWIPEME_VAPID_PRIVATE_KEY: PEM, or the raw 32-byte key base64url-encoded), else from the
PEM file `manage.py notifications_vapid_keys` writes under var/ (development)."""

from __future__ import annotations

import base64
import os
from functools import cache
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings
from py_vapid import Vapid02


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url (padding optional); raises ValueError."""
    cleaned = text.strip().rstrip("=")
    if not cleaned or any(c not in _ALPHABET for c in cleaned) or len(cleaned) % 4 == 1:
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(cleaned + "=" * (-len(cleaned) % 4))


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@cache
def _from_text(text: str) -> Vapid02:
    text = text.strip()
    if "-----BEGIN" in text:
        key = serialization.load_pem_private_key(text.encode(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the VAPID key must be a P-256 EC key")
        return Vapid02(key)
    found: Vapid02 = Vapid02.from_string(text)
    return found


def server_key() -> Vapid02 | None:
    """The key pair, or None when Web Push is not configured."""
    if settings.SWIPEME_VAPID_PRIVATE_KEY:
        return _from_text(settings.SWIPEME_VAPID_PRIVATE_KEY)
    path: Path | None = settings.SWIPEME_VAPID_KEY_FILE
    if path is not None and path.is_file():
        return _from_text(path.read_text())
    return None


def public_key_b64url() -> str | None:
    """The applicationServerKey browsers subscribe with (uncompressed P-256 point)."""
    key = server_key()
    if key is None:
        return None
    raw = key.public_key.public_bytes(serialization.Encoding.X962,
                                      serialization.PublicFormat.UncompressedPoint)
    return b64url(raw)


def generate(path: Path) -> Vapid02:
    """A new key pair, written to `path` (PEM, mode 0600)."""
    key = Vapid02(ec.generate_private_key(ec.SECP256R1()))
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(key.private_pem())
    return key
