"""Embed posts without an embedding and rebuild the candidate pools now."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from apps.feed import services


class Command(BaseCommand):
    help = "Embed posts that lack an embedding, then rebuild the feed's candidate pools."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--embed-limit", type=int, default=5000)

    def handle(self, *args: Any, **options: Any) -> None:
        embedded = services.embed_posts(limit=options["embed_limit"])
        pooled = services.refresh_pools()
        self.stdout.write(f"embedded {embedded} posts; pools cover {pooled} posts")
