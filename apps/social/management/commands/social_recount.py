"""Recompute followers_count / following_count from the Follow rows (repairs drift, e.g.
after users were deleted without the removal hook). Safe to run while the site is live."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.social.services import graph_counters_recount


class Command(BaseCommand):
    help = "Recompute users' followers_count and following_count from the follow rows."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user-id", type=int, action="append", dest="user_ids",
                            help="Only these users (repeatable). Default: everyone.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        fixed = graph_counters_recount(user_ids=options["user_ids"],
                                       batch_size=options["batch_size"])
        self.stdout.write(f"social_recount: corrected {fixed} user(s).")
