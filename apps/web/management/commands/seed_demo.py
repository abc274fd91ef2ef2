"""Demo data for `make run`: idempotent, safe to run on every start.

Creates the staff account, the demo catalogue (`apps.web.seed.catalogue`: ~30 users who
follow each other, library sounds, a few hundred posts whose clips the media workers
transcode in the background, comments, likes), demo money (`apps.web.seed.money`: coins
bought through the local provider, gifts and tips) and the help centre."""

from __future__ import annotations

import os
import time
from datetime import date
from typing import Any

from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from apps.accounts.models import User
from apps.media.services import TooManyUploadsError
from apps.web.seed import catalogue, money

DEFAULT_POSTS = 300
MAX_POSTS = 1500  # 50 per demo user: the media app's daily upload limit per user


class Command(BaseCommand):
    help = "Create the demo catalogue (admin, demo accounts, posts, sounds) if it is not there."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--posts", type=int, default=DEFAULT_POSTS,
            help=f"How many demo posts there should be in all (default {DEFAULT_POSTS}); "
                 "only the missing ones are made.")

    def handle(self, *args: Any, posts: int, **options: Any) -> None:
        if not 0 <= posts <= MAX_POSTS:
            raise CommandError(f"--posts: between 0 and {MAX_POSTS}.")
        started = time.monotonic()
        self._admin()
        try:
            report = catalogue.build(posts=posts)
        except TooManyUploadsError as exc:
            raise CommandError(f"{exc} (SWIPEME_MEDIA_UPLOAD_MAX_PER_DAY)") from exc
        money_report = money.ensure_money(money.demo_users())
        call_command("seed_help_centre")
        self.stdout.write(
            f"demo data ready in {time.monotonic() - started:.1f}s: "
            f"{User.objects.count()} accounts ({report.users_created} new), "
            f"{report.follows_created} new follows, {report.sounds_created} new sounds, "
            f"{report.posts_created} new posts ({report.likes} likes, {report.comments} "
            f"comments); new posts appear as the media workers finish their clips")
        if money_report.enabled:
            self.stdout.write(
                f"demo money: {money_report.coins_credited} wallets funded by local-provider "
                f"purchases ({money_report.purchases_created} new), "
                f"{money_report.sends_created} new gifts and tips")
        else:
            self.stdout.write(f"demo money: skipped ({money_report.skipped_because})")

    @transaction.atomic
    def _admin(self) -> None:
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
