"""Re-encrypt every KYC document file under the first key of SWIPEME_KYC_FILE_KEYS, and
encrypt the files stored before encryption existed.

Rotation: put the new key first (keep the old one after it), run this command, then remove
the old key. After deploying encryption, run it once to encrypt the existing files. Safe to
run again (each run writes every file under the current first key)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.core.audit import record_audit
from apps.monetization.services.kyc import kyc_documents_rotate_keys


class Command(BaseCommand):
    help = ("Re-encrypt every KYC document under the first key of SWIPEME_KYC_FILE_KEYS "
            "(and encrypt any stored in plaintext).")

    def handle(self, *args: Any, **options: Any) -> None:
        resealed, encrypted = kyc_documents_rotate_keys()
        record_audit(actor=None, action="monetization.kyc_file_keys_rotate",
                     resealed=resealed, encrypted=encrypted)
        self.stdout.write(f"Re-encrypted {resealed} KYC document(s) under the current key; "
                          f"encrypted {encrypted} stored in plaintext.")
