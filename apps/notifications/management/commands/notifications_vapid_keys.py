"""Create the Web Push (VAPID) key pair for development, or print the current public key.

Development keeps the private key as PEM at SWIPEME_VAPID_KEY_FILE (under var/); production
sets SWIPEME_VAPID_PRIVATE_KEY from a secret instead: `--print-env` prints a new key in that
form without writing anything."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.notifications.push import vapid


class Command(BaseCommand):
    help = "Generate the VAPID key pair for Web Push (kept under var/ in development)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--force", action="store_true",
                            help="Replace an existing key (every browser must subscribe again).")
        parser.add_argument("--print-env", action="store_true",
                            help="Print a new key as SWIPEME_VAPID_PRIVATE_KEY=... for the "
                                 "environment; write nothing.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["print_env"]:
            with tempfile.TemporaryDirectory() as scratch:
                key = vapid.generate(Path(scratch) / "key.pem")
            raw = key.private_key.private_numbers().private_value.to_bytes(32, "big")
            self.stdout.write(f"SWIPEME_VAPID_PRIVATE_KEY={vapid.b64url(raw)}")
            return
        if settings.SWIPEME_VAPID_PRIVATE_KEY:
            self.stdout.write("The key comes from SWIPEME_VAPID_PRIVATE_KEY; nothing written.")
        else:
            path: Path | None = settings.SWIPEME_VAPID_KEY_FILE
            if path is None:
                raise CommandError("No key file in these settings: set "
                                   "SWIPEME_VAPID_PRIVATE_KEY (see --print-env).")
            if path.exists() and not options["force"]:
                self.stdout.write(f"Key already at {path} (--force replaces it).")
            else:
                vapid.generate(path)
                self.stdout.write(f"Wrote {path}.")
        self.stdout.write(f"Public key (applicationServerKey): {vapid.public_key_b64url()}")
