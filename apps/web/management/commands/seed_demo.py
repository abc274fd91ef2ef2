"""Demo data for `make run`: idempotent, safe to run on every start."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import User

DEMO_USERS = [
    ("maya", "Maya Chen", "Dancer. Choreo every Friday."),
    ("leo", "Leo Martins", "Street food in 60 seconds."),
    ("sofia", "Sofia Rossi", "Bouldering and bad puns."),
    ("kenji", "Kenji Sato", "Pixel art timelapses."),
    ("amara", "Amara Okafor", "Science, fast."),
]


class Command(BaseCommand):
    help = "Create the demo catalogue (admin, demo accounts) if it is not there."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        password = os.environ.get("SWIPEME_ADMIN_PASSWORD", "swipeme-admin")
        admin, created = User.objects.get_or_create(
            username="admin",
            defaults={
                "email": "admin@swipeme.local",
                "is_staff": True,
                "is_superuser": True,
                "date_of_birth": date(1990, 1, 1),
                "display_name": "SwipeMe Staff",
            },
        )
        if created:
            admin.set_password(password)
            admin.save(update_fields=["password"])
        EmailAddress.objects.get_or_create(
            user=admin, email=admin.email, defaults={"verified": True, "primary": True}
        )
        for username, name, bio in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@demo.swipeme.local",
                    "display_name": name,
                    "bio": bio,
                    "date_of_birth": date(1998, 5, 17),
                },
            )
            if created:
                user.set_password("demo-password")
                user.save(update_fields=["password"])
            EmailAddress.objects.get_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
        call_command("seed_help_centre")
        self.stdout.write(f"demo data ready: {User.objects.count()} accounts")
