from __future__ import annotations

from datetime import date

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.core.ids import snowflake_pk


class User(AbstractUser):
    """Identity and public profile in one row: profile reads are the hottest read we have.

    Counters (followers/following) are owned by `social`'s services and only move with F().
    """

    id = snowflake_pk()  # type: ignore[assignment,misc]
    email = models.EmailField("email address", blank=True)
    date_of_birth = models.DateField(null=True, blank=True)
    display_name = models.CharField(max_length=50, blank=True)
    bio = models.CharField(max_length=160, blank=True)
    links = models.JSONField(default=list, blank=True)
    avatar = models.ImageField(upload_to="avatars/original/", blank=True)
    # {"48": "avatars/48/<id>-<hash>.webp", ...} written by the resize task.
    avatar_sizes = models.JSONField(default=dict, blank=True)
    is_private = models.BooleanField(default=False)
    is_verified = models.BooleanField(default=False, help_text="Staff-set verified badge.")
    username_changed_at = models.DateTimeField(null=True, blank=True)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deletion_scheduled_for = models.DateTimeField(null=True, blank=True)
    followers_count = models.PositiveIntegerField(default=0)
    following_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("username"), name="accounts_user_username_ci_unique"),
            models.UniqueConstraint(
                Lower("email"),
                condition=~models.Q(email=""),
                name="accounts_user_email_ci_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.username

    def age_on(self, day: date) -> int | None:
        if self.date_of_birth is None:
            return None
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    @property
    def is_minor(self) -> bool:
        """13-17: later features (DMs, gifting, visibility) restrict minors."""
        from django.conf import settings

        age = self.age_on(timezone.localdate())
        return age is not None and age < settings.SWIPEME_ADULT_AGE

    @property
    def is_discoverable(self) -> bool:
        """Active accounts only: deactivated or pending deletion vanish from others' view."""
        return (
            self.is_active
            and self.deactivated_at is None
            and self.deletion_scheduled_for is None
        )
