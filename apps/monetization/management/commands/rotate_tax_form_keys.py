"""Re-encrypt every tax form under the first key of SWIPEME_TAX_FORM_KEYS.

Rotation: put the new key first (keep the old one after it), run this command, then remove
the old key. Safe to run again (each run re-encrypts under the current first key)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.core.audit import record_audit
from apps.monetization.services.tax import tax_forms_rotate_keys


class Command(BaseCommand):
    help = "Re-encrypt every tax form under the first key of SWIPEME_TAX_FORM_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        count = tax_forms_rotate_keys()
        record_audit(actor=None, action="monetization.tax_form_keys_rotate", forms=count)
        self.stdout.write(f"Re-encrypted {count} tax form(s) under the current key.")
