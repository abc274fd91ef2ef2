"""Recompute Hashtag.posts_count and Sound.posts_count from the rows (repairs drift)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.content.services import content_recount


class Command(BaseCommand):
    help = "Recompute hashtags' and sounds' posts_count from the published posts."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write(f"content_recount: corrected {content_recount()} row(s).")
