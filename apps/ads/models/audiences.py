"""Custom audiences (uploaded lists of SHA-256 hashed e-mails matched to users) and
lookalikes (the users nearest a seed audience in the feed's embedding space).

Only the matches are stored (user ids); the uploaded hashes are not kept. An audience below
`SWIPEME_ADS_AUDIENCE_MIN_SIZE` matched users does not serve."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import TimestampedModel

from .orgs import AdvertiserOrg


class CustomAudience(TimestampedModel):
    class State(models.TextChoices):
        PROCESSING = "processing", "Matching"
        READY = "ready", "Ready"

    org = models.ForeignKey(AdvertiserOrg, on_delete=models.CASCADE, related_name="audiences")
    name = models.CharField(max_length=120)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROCESSING)
    uploaded_count = models.PositiveIntegerField(default=0)  # distinct valid hashes uploaded
    matched_count = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="AudienceMember",
                                     related_name="+")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class AudienceMember(models.Model):
    audience = models.ForeignKey(CustomAudience, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["audience", "user"],
                                               name="ads_audience_member_unique")]
        indexes = [models.Index(fields=["user", "audience"], name="ads_audience_member_user")]

    def __str__(self) -> str:
        return f"{self.audience_id}:{self.user_id}"


class Lookalike(TimestampedModel):
    class State(models.TextChoices):
        PROCESSING = "processing", "Building"
        READY = "ready", "Ready"

    org = models.ForeignKey(AdvertiserOrg, on_delete=models.CASCADE, related_name="lookalikes")
    name = models.CharField(max_length=120)
    seed = models.ForeignKey(CustomAudience, on_delete=models.CASCADE,
                             related_name="lookalikes")
    size = models.PositiveIntegerField()  # how many users were asked for
    state = models.CharField(max_length=16, choices=State.choices, default=State.PROCESSING)
    matched_count = models.PositiveIntegerField(default=0)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, through="LookalikeMember",
                                     related_name="+")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class LookalikeMember(models.Model):
    lookalike = models.ForeignKey(Lookalike, on_delete=models.CASCADE)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE,
                             related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["lookalike", "user"],
                                               name="ads_lookalike_member_unique")]
        indexes = [models.Index(fields=["user", "lookalike"],
                                name="ads_lookalike_member_user")]

    def __str__(self) -> str:
        return f"{self.lookalike_id}:{self.user_id}"
