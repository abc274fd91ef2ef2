"""Recompute posts' comments_count and comments' likes_count / replies_count from the rows."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.comments.services import comment_counters_reconcile


class Command(BaseCommand):
    help = "Recompute comment counters (posts' comments_count, comments' likes and replies)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--post-id", type=int, action="append", dest="post_ids",
                            help="Only these posts (repeatable). Default: every post.")
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args: Any, **options: Any) -> None:
        fixed = comment_counters_reconcile(post_ids=options["post_ids"],
                                           batch_size=options["batch_size"])
        self.stdout.write(f"comments_reconcile: corrected {fixed} row(s).")
