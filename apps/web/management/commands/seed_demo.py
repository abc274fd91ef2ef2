"""Demo data for `make run`: idempotent, safe to run on every start."""

from __future__ import annotations

import os
from datetime import date
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management.base import BaseCommand
from django.db import transaction

from apps.accounts.models import User
from apps.cms.models import HelpPage

HELP_PAGES = [
    ("account", "Your account",
     "<p>Sign up with an e-mail address and a date of birth; you must be at least 13. "
     "Manage your sessions and devices from Settings, and switch on two-factor "
     "authentication with any authenticator app.</p>"),
    ("privacy", "Privacy and safety",
     "<p>A private account approves each follower. Blocking someone hides you from each "
     "other completely; muting hides them from you without telling them.</p>"),
]

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
            defaults={"email": "admin@swipeme.local", "is_staff": True, "is_superuser": True,
                      "date_of_birth": date(1990, 1, 1), "display_name": "SwipeMe Staff"},
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
                defaults={"email": f"{username}@demo.swipeme.local", "display_name": name,
                          "bio": bio, "date_of_birth": date(1998, 5, 17)},
            )
            if created:
                user.set_password("demo-password")
                user.save(update_fields=["password"])
            EmailAddress.objects.get_or_create(
                user=user, email=user.email, defaults={"verified": True, "primary": True}
            )
        self._seed_help_centre()
        self.stdout.write(f"demo data ready: {User.objects.count()} accounts")

    def _seed_help_centre(self) -> None:
        """A help centre in Wagtail (/pages/help/) that staff edit at /cms/."""
        from wagtail.models import Site

        site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
        if site is None:
            return
        home = site.root_page
        help_page = HelpPage.objects.child_of(home).filter(slug="help").first()
        if help_page is None:
            help_page = HelpPage(title="Help centre", slug="help",
                                 summary="Answers to common questions about SwipeMe.")
            home.add_child(instance=help_page)
            help_page.save_revision().publish()
        for slug, title, body in HELP_PAGES:
            if not HelpPage.objects.child_of(help_page).filter(slug=slug).exists():
                page = HelpPage(title=title, slug=slug, body=body)
                help_page.add_child(instance=page)
                page.save_revision().publish()
