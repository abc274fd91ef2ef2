"""The help centre in Wagtail (/pages/help/), which staff edit at /cms/. Idempotent."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from apps.cms.models import HelpPage

HELP_PAGES = [
    (
        "account",
        "Your account",
        "<p>Sign up with an e-mail address and a date of birth; you must be at least 13. "
        "Manage your sessions and devices from Settings, and switch on two-factor "
        "authentication with any authenticator app.</p>",
    ),
    (
        "privacy",
        "Privacy and safety",
        "<p>A private account approves each follower. Blocking someone hides you from each "
        "other completely; muting hides them from you without telling them.</p>",
    ),
]


class Command(BaseCommand):
    help = "Create the help-centre pages if they are not there."

    @transaction.atomic
    def handle(self, *args: Any, **options: Any) -> None:
        from wagtail.models import Site

        site = Site.objects.filter(is_default_site=True).select_related("root_page").first()
        if site is None:
            return
        home = site.root_page
        help_page = HelpPage.objects.child_of(home).filter(slug="help").first()
        if help_page is None:
            help_page = HelpPage(
                title="Help centre",
                slug="help",
                summary="Answers to common questions about SwipeMe.",
            )
            home.add_child(instance=help_page)
            help_page.save_revision().publish()
        for slug, title, body in HELP_PAGES:
            if not HelpPage.objects.child_of(help_page).filter(slug=slug).exists():
                page = HelpPage(title=title, slug=slug, body=body)
                help_page.add_child(instance=page)
                page.save_revision().publish()
