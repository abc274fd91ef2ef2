"""Recompute posts' likes/favourites/shares counters from the rows (repairs drift, e.g. a
delta lost while Redis was down). Safe to run while the site is live."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.engagement.services import counters_reconcile


class Command(BaseCommand):
    help = "Recompute likes_count, favourites_count and shares_count from the rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--post-id", type=int, action="append", dest="post_ids",
                            help="Only these posts (repeatable). Default: every post.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        fixed = counters_reconcile(post_ids=options["post_ids"], batch_size=options["batch_size"])
        self.stdout.write(f"engagement_reconcile: corrected {fixed} post(s).")
