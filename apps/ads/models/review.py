"""Ad-review rules staff edit in the admin."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from apps.core.models import TimestampedModel


class BlockedDomain(TimestampedModel):
    """A landing-page domain no ad may link to (its subdomains included)."""

    domain = models.CharField(max_length=253, unique=True)  # lower case, no scheme
    reason = models.CharField(max_length=300)  # shown to the advertiser on rejection
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain
