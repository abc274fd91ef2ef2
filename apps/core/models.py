from __future__ import annotations

from django.db import models

from apps.core.ids import snowflake_pk


class SnowflakeModel(models.Model):
    """Base for every table whose ids reach clients: a time-ordered 64-bit id."""

    id = snowflake_pk()

    class Meta:
        abstract = True


class TimestampedModel(SnowflakeModel):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True
