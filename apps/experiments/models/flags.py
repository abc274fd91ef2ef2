"""Feature flags: a value per environment, chosen by ordered targeting rules.

A flag's `rules` is an ordered list; the first rule that matches the viewer (and whose
schedule is open and whose rollout takes the viewer) gives the value, else `default_value`:

    [{"id": "ios-beta",                        # optional, for the audit and debugging
      "when": {"country": ["US", "GB"],        # every named condition must hold
               "language": ["en"],
               "platform": ["ios", "android", "web"],
               "app_version": {"min": "3.2.0", "max": "4.0.0"},   # inclusive, either end
               "age_band": ["13-15", "16-17", "18+", "unknown"],
               "staff": true,
               "users": ["<user id>", ...],
               "devices": ["<device id>", ...]},
      "rollout": {"percent": 25.0, "salt": "k3j2"},   # optional: this share of the units
      "start": "2026-12-06T10:00:00Z", "end": null,   # optional schedule (ISO 8601, UTC)
      "value": true}]

Rules are validated by `apps.experiments.rules.validate_rules` (services and the admin form
call it): unknown conditions, malformed versions or bands, a value that is not one of the
flag's variations are refused with a message naming the rule.

`enabled` is the kill switch: a disabled flag serves `default_value` whatever its rules and
whatever a running experiment's arm says.
"""

from __future__ import annotations

from django.db import models

from apps.core.models import TimestampedModel


def default_off() -> bool:
    return False


class Environment(models.TextChoices):
    DEV = "dev", "Development"
    PRODUCTION = "production", "Production"


class Flag(TimestampedModel):
    class Kind(models.TextChoices):
        BOOLEAN = "boolean", "Boolean"
        MULTIVARIATE = "multivariate", "Multivariate"

    # Dotted lower-case name, e.g. "feed.ranker" or "ads.load"; one row per environment.
    key = models.CharField(max_length=100)
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.PRODUCTION
    )
    description = models.CharField(max_length=500, blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.BOOLEAN)
    default_value = models.JSONField(default=default_off, blank=True)
    # The values this flag may take (a boolean flag: [false, true]); rules and arms may
    # only set one of them.
    variations = models.JSONField(default=list, blank=True)
    enabled = models.BooleanField(default=True, help_text="Kill switch: off serves the default.")
    rules = models.JSONField(default=list, blank=True)
    # Sent to the web and mobile clients by GET /api/v1/flags (server-only flags are not).
    client_visible = models.BooleanField(default=True)
    # Bumped on every change: the flags endpoint's ETag and the evaluators' caches follow it.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["key", "environment"], name="experiments_flag_key_env"),
        ]
        ordering = ["key", "environment"]

    def __str__(self) -> str:
        return f"{self.key} ({self.environment})"
