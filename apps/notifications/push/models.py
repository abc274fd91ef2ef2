"""Web Push subscriptions (the browser's PushSubscription: an endpoint URL and its keys)."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import SnowflakeModel


class WebPushSubscription(SnowflakeModel):
    """One browser's subscription. The endpoint is the push service's URL for that browser:
    unique, so a browser that subscribes again (or for another account) moves the row."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="webpush_subscriptions")
    endpoint = models.URLField(max_length=2048, unique=True)
    p256dh = models.CharField(max_length=100)  # the browser's P-256 public key, base64url
    auth = models.CharField(max_length=32)  # the 16-byte auth secret, base64url
    # The session that subscribed: pushed only while it is signed in (a shared computer
    # logged out of the account is told nothing more).
    session_key = models.CharField(max_length=40, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "notifications"
        indexes = [models.Index(fields=["user"], name="notif_webpush_user")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.endpoint[:60]}"
