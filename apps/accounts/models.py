from __future__ import annotations

from datetime import date
from typing import Any

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from apps.accounts.usernames import skeleton
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
    # ISO 3166-1 alpha-2 (from sign-up or the profile): sound territories, regional feed.
    country = models.CharField(max_length=2, blank=True)
    # BCP 47 primary language the user reads (cold-start feed, search).
    language = models.CharField(max_length=16, blank=True)
    is_verified = models.BooleanField(default=False, help_text="Staff-set verified badge.")
    # The look-alike fold of the username (see apps.accounts.usernames.skeleton): a new
    # username whose skeleton matches another user's is refused as an impersonation.
    username_skeleton = models.CharField(max_length=64, blank=True, db_index=True)
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

    def save(self, *args: Any, **kwargs: Any) -> None:
        """The skeleton always follows the username, however the row is written (sign-up,
        rename, admin, seeds, factories, createsuperuser): an empty or stale skeleton lets
        a look-alike of this user through."""
        self.username_skeleton = skeleton(self.username)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and "username" in update_fields:
            kwargs["update_fields"] = {*update_fields, "username_skeleton"}
        super().save(*args, **kwargs)

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
    def has_verified_email(self) -> bool:
        from allauth.account.models import EmailAddress

        verified: bool = EmailAddress.objects.filter(user_id=self.pk, verified=True).exists()
        return verified

    @property
    def is_discoverable(self) -> bool:
        """Active accounts with a verified e-mail address: deactivated ones, those pending
        deletion and those that never verified an address vanish from others' view
        (`social.selectors.discoverable_q` is the SQL twin)."""
        return (
            self.is_active
            and self.deactivated_at is None
            and self.deletion_scheduled_for is None
            and self.has_verified_email
        )


class Device(models.Model):
    """A client install a user logged in from. One row per (user, client device id); a
    log-in from the same install updates it and points it at the new session."""

    class Platform(models.TextChoices):
        IOS = "ios", "iOS"
        ANDROID = "android", "Android"
        WEB = "web", "Web"

    id = snowflake_pk()
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="devices")
    platform = models.CharField(max_length=10, choices=Platform.choices, default=Platform.WEB)
    app_version = models.CharField(max_length=32, blank=True)
    # The X-Device-Id header (an install id the client keeps); blank for plain web logins.
    device_identifier = models.CharField(max_length=128, blank=True)
    push_token = models.CharField(max_length=512, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    # The Django session key (= the app session token) of the device's latest log-in.
    # allauth's UserSession is keyed by it too; ending that session ends this link.
    session_key = models.CharField(max_length=40, blank=True, db_index=True)
    last_seen_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "device_identifier"],
                condition=~models.Q(device_identifier=""),
                name="accounts_device_user_identifier_unique",
            ),
        ]
        indexes = [models.Index(fields=["user", "-last_seen_at"], name="accounts_dev_user_seen")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.platform} {self.device_identifier or self.pk}"


class DataExport(models.Model):
    """A user's request for a copy of their data; the ZIP lives in private storage."""

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    id = snowflake_pk()
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="data_exports")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    file = models.CharField(max_length=255, blank=True)  # name in private storage
    size_bytes = models.PositiveBigIntegerField(default=0)
    error = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # One export in flight per user: the database settles concurrent requests.
            models.UniqueConstraint(
                fields=["user"],
                condition=models.Q(state__in=["pending", "running"]),
                name="accounts_export_one_running_per_user",
            ),
        ]

    def __str__(self) -> str:
        return f"export {self.pk} ({self.state})"
