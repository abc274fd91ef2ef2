"""Create the moderator groups with their permissions (idempotent)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.moderation.groups import setup_groups


class Command(BaseCommand):
    help = "Create or update the moderator groups and their permissions."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, count in setup_groups().items():
            self.stdout.write(f"{name}: {count} permissions")
