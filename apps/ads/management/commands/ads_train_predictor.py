"""Train the ads' pCTR / p2sView predictor on the last days' ad events."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ads.delivery import predict


class Command(BaseCommand):
    help = "Train the ad predictor (pCTR, p2sView) on the ad events and store a new version."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, default=14)
        parser.add_argument(
            "--no-activate",
            action="store_true",
            help="Store the version without making it the active one.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            made = predict.train_from_events(
                days=options["days"], activate=not options["no_activate"]
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"ad predictor v{made.version} ({made.trained_rows} impressions"
            f"{', active' if made.active else ''})"
        )
        self.stdout.write(json.dumps(made.metrics, indent=1))
