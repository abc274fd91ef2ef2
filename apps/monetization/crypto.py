"""Encryption at rest of tax forms: MultiFernet over `settings.SWIPEME_TAX_FORM_KEYS`.

The first key encrypts; every key decrypts, so a new key is put first, `manage.py
rotate_tax_form_keys` re-encrypts every form with it, and then the old key can be removed.
Without configured keys, development and tests derive one key from SECRET_KEY; production
(`SWIPEME_TAX_FORM_KEYS_DERIVED_OK = False`) refuses to run without them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


def _keys() -> list[str]:
    keys = list(settings.SWIPEME_TAX_FORM_KEYS)
    if keys:
        return keys
    if not getattr(settings, "SWIPEME_TAX_FORM_KEYS_DERIVED_OK", False):
        raise ImproperlyConfigured("SWIPEME_TAX_FORM_KEYS is not set: tax forms cannot be "
                                   "encrypted or read.")
    digest = hashlib.sha256(f"tax-forms:{settings.SECRET_KEY}".encode()).digest()
    return [base64.urlsafe_b64encode(digest).decode()]


def _fernet() -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys()])
    except ValueError as exc:  # a malformed key: say which setting, never echo the key
        raise ImproperlyConfigured("SWIPEME_TAX_FORM_KEYS holds a key that is not a Fernet "
                                   "key (32 url-safe base64-encoded bytes).") from exc


def seal(fields: dict[str, Any]) -> str:
    return _fernet().encrypt(json.dumps(fields, sort_keys=True).encode()).decode()


def unseal(token: str) -> dict[str, Any]:
    try:
        data = json.loads(_fernet().decrypt(token.encode()))
    except InvalidToken as exc:
        raise ImproperlyConfigured("A tax form cannot be decrypted with SWIPEME_TAX_FORM_KEYS "
                                   "(was its key removed before rotation?).") from exc
    assert isinstance(data, dict)
    return data


def reseal(token: str) -> str:
    """The same plaintext under the first (current) key."""
    return _fernet().rotate(token.encode()).decode()
