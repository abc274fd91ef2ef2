from __future__ import annotations

from django.conf import settings
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


class AuditEvent(SnowflakeModel):
    """The one audit trail of staff and automated actions, every app's: who (`actor`, None
    for automation), what (`app`.`verb`, e.g. `feed.ranker_activate`), on what (`target_type`
    is the model's name, as moderation's targets: `post`, `user`, `sound`, ...; `target_id`,
    and a readable `target_repr` for refs without a numeric id), why (`reason`), details
    (`data`) and from where (`ip` when a request made it). Append-only: nothing updates or
    deletes these rows. Written by `apps.core.audit.record_audit`; moderation's own rows
    extend it (`moderation.AuditEvent`, with the case and enforcement action)."""

    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                              on_delete=models.SET_NULL, related_name="+")
    app = models.CharField(max_length=32)
    verb = models.CharField(max_length=64)
    target_type = models.CharField(max_length=32, blank=True)
    target_id = models.BigIntegerField(null=True, blank=True)
    target_repr = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=1000, blank=True)
    data = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["target_type", "target_id"], name="core_audit_target"),
                   models.Index(fields=["app", "verb"], name="core_audit_action")]

    def __str__(self) -> str:
        return f"{self.action_name} by {self.actor_id or 'automation'}"

    @property
    def action_name(self) -> str:
        return f"{self.app}.{self.verb}"


class OutboxTask(SnowflakeModel):
    """A Celery task that must run because a transaction committed (process this upload),
    recorded in that same transaction: the broker being down loses no work. Sent right
    after the commit when the broker answers, otherwise by the beat's dispatcher once it
    is back (`apps.core.outbox`). `dispatched_at` is set when the broker took it."""

    task = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        indexes = [
            # the dispatcher's scan: only the undispatched rows, oldest first
            models.Index(fields=["id"], name="core_outbox_pending",
                         condition=models.Q(dispatched_at__isnull=True)),
            models.Index(fields=["dispatched_at"], name="core_outbox_dispatched",
                         condition=models.Q(dispatched_at__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.task} {self.args} ({'sent' if self.dispatched_at else 'pending'})"
