"""The digest's tables: the person's frequency and one row per (person, period) sent."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class DigestSetting(models.Model):
    """How often a person gets the digest; no row = the default (weekly)."""

    class Frequency(models.TextChoices):
        OFF = "off"
        DAILY = "daily"
        WEEKLY = "weekly"

    DEFAULT = Frequency.WEEKLY

    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True,
                                on_delete=models.CASCADE, related_name="+")
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "notifications"

    def __str__(self) -> str:
        return f"{self.user_id}: {self.frequency}"


class DigestRun(models.Model):
    """One digest per person per period ("d2026-12-05", "w2026-W49"): the unique row is
    the claim (planned as pending, sent under FOR UPDATE SKIP LOCKED), so a beat task that
    runs twice or two workers at once send it once. `until` is where the next one starts."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        EMPTY = "empty"  # nothing unread: no e-mail
        FAILED = "failed"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")
    period = models.CharField(max_length=16)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    notifications = models.PositiveIntegerField(default=0)
    until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)  # the planning run's time

    class Meta:
        app_label = "notifications"
        constraints = [
            models.UniqueConstraint(fields=["user", "period"], name="notif_digest_once"),
        ]
        indexes = [
            models.Index(fields=["created_at"], condition=models.Q(status="pending"),
                         name="notif_digest_pending"),
            models.Index(fields=["user", "-until"], name="notif_digest_user_until"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.period} {self.status}"
