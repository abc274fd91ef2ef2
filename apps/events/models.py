"""Events keeps one table: the spool of accepted batches that could not reach the event log
(the Redis stream was unavailable), drained into it when it is back (`apps.events.spool`)."""

from __future__ import annotations

from django.db import models

from apps.core.models import SnowflakeModel


class SpooledBatch(SnowflakeModel):
    """One accepted HTTP batch waiting for the event log. `events` are the validated event
    dicts (`Event.as_log_dict`), `dedupe_keys` their dedupe markers (same order) and
    `token` the value this request set (or would have set) on them, so that the drain
    tells this batch's own markers from a duplicate's."""

    user_id = models.BigIntegerField(null=True, blank=True)
    received_ms = models.BigIntegerField()
    client = models.JSONField(default=dict)
    events = models.JSONField(default=list)
    dedupe_keys = models.JSONField(default=list)
    token = models.CharField(max_length=32)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"spooled batch {self.pk} ({len(self.events)} events)"
