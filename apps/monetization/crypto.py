"""Encryption at rest: MultiFernet over a list of keys from the environment, one key set per
kind of secret.

- Tax forms (`seal`, `unseal`, `reseal`): `settings.SWIPEME_TAX_FORM_KEYS`.
- KYC document files (`seal_file`, `unseal_file`, `reseal_file`):
  `settings.SWIPEME_KYC_FILE_KEYS`, a set of its own, so that a leaked tax-form key does not
  open identity papers (and each can be rotated on its own schedule).

The first key of a set encrypts; every key decrypts, so a new key is put first, the set's
rotation command (`manage.py rotate_tax_form_keys`, `manage.py rotate_kyc_file_keys`)
re-encrypts everything with it, and then the old key can be removed. Without configured
keys, development and tests derive one key per set from SECRET_KEY; production
(`SWIPEME_TAX_FORM_KEYS_DERIVED_OK` / `SWIPEME_KYC_FILE_KEYS_DERIVED_OK` = False) refuses
to run without them.
"""

from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


@dataclass(frozen=True)
class _KeySet:
    setting: str  # the list of keys
    derived_ok: str  # the setting allowing a key derived from SECRET_KEY
    purpose: str  # mixed into the derived key: one derived key per set
    what: str  # in error messages


TAX_FORMS = _KeySet("SWIPEME_TAX_FORM_KEYS", "SWIPEME_TAX_FORM_KEYS_DERIVED_OK", "tax-forms",
                    "tax forms")
KYC_FILES = _KeySet("SWIPEME_KYC_FILE_KEYS", "SWIPEME_KYC_FILE_KEYS_DERIVED_OK", "kyc-files",
                    "KYC documents")


def _keys(keyset: _KeySet) -> list[str]:
    keys = list(getattr(settings, keyset.setting, []))
    if keys:
        return keys
    if not getattr(settings, keyset.derived_ok, False):
        raise ImproperlyConfigured(f"{keyset.setting} is not set: {keyset.what} cannot be "
                                   "encrypted or read.")
    digest = hashlib.sha256(f"{keyset.purpose}:{settings.SECRET_KEY}".encode()).digest()
    return [base64.urlsafe_b64encode(digest).decode()]


def _fernet(keyset: _KeySet = TAX_FORMS) -> MultiFernet:
    try:
        return MultiFernet([Fernet(key) for key in _keys(keyset)])
    except ValueError as exc:  # a malformed key: say which setting, never echo the key
        raise ImproperlyConfigured(f"{keyset.setting} holds a key that is not a Fernet "
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


def seal_file(body: bytes) -> bytes:
    """A KYC document's bytes as a Fernet token (authenticated: a changed byte fails)."""
    return _fernet(KYC_FILES).encrypt(body)


def unseal_file(token: bytes) -> bytes:
    try:
        return _fernet(KYC_FILES).decrypt(token)
    except InvalidToken as exc:
        raise ImproperlyConfigured("A KYC document cannot be decrypted with "
                                   "SWIPEME_KYC_FILE_KEYS (was its key removed before "
                                   "rotation, or the file changed?).") from exc


def reseal_file(token: bytes) -> bytes:
    """The same document under the first (current) key."""
    try:
        return _fernet(KYC_FILES).rotate(token)
    except InvalidToken as exc:
        raise ImproperlyConfigured("A KYC document cannot be decrypted with "
                                   "SWIPEME_KYC_FILE_KEYS for rotation.") from exc
