"""Experiments: a layer's traffic split by a salted hash into experiments, and each
experiment's share into arms.

Bucketing (apps.experiments.bucketing): a unit (a signed-in user, else a device) falls in
layer bucket `hash(layer.salt, unit) % 10000`; an experiment owns the half-open bucket range
[bucket_start, bucket_end) of its layer, so experiments in one layer never share a unit.
Inside it, `hash(experiment.salt, unit)` picks the holdout (the first `holdout_percent`) or
an arm by weight. Arms set flag values:

    arms = [{"key": "control", "weight": 50, "values": {"feed.ranker": "v1"}},
            {"key": "treatment", "weight": 50, "values": {"feed.ranker": "v2"}}]

A running experiment's allocation (range, arms, weights, holdout, salt) cannot change;
`experiment_restart` stops it and starts again with a new salt (old assignments no longer
count). `conditions` uses the flags' `when` vocabulary (who may enter at all).
"""

from __future__ import annotations

import secrets

from django.db import models

from apps.core.models import TimestampedModel
from apps.experiments.models.flags import Environment

LAYER_BUCKETS = 10_000  # a layer's traffic in 0.01 % steps
HOLDOUT_ARM = "holdout"


def new_salt() -> str:
    return secrets.token_hex(8)


class Layer(TimestampedModel):
    """A namespace holding 100 % of the traffic; its experiments take disjoint slices."""

    key = models.CharField(max_length=64, unique=True)
    description = models.CharField(max_length=500, blank=True)
    salt = models.CharField(max_length=32, default=new_salt)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key


class Experiment(TimestampedModel):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"

    key = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    hypothesis = models.TextField(blank=True)
    environment = models.CharField(
        max_length=16, choices=Environment.choices, default=Environment.PRODUCTION
    )
    layer = models.ForeignKey(Layer, on_delete=models.PROTECT, related_name="experiments")
    salt = models.CharField(max_length=32, default=new_salt)
    # The layer's buckets this experiment owns: [bucket_start, bucket_end) of LAYER_BUCKETS.
    bucket_start = models.PositiveIntegerField(default=0)
    bucket_end = models.PositiveIntegerField(default=0)
    arms = models.JSONField(default=list, blank=True)
    # Share (0-100) of the experiment's units kept on the defaults and recorded as "holdout".
    holdout_percent = models.FloatField(default=0.0)
    conditions = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(null=True, blank=True)
    stopped_at = models.DateTimeField(null=True, blank=True)
    # Bumped on every change (the evaluators' caches follow it); a restart bumps it too.
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "environment"], name="experiments_exp_status")]

    def __str__(self) -> str:
        return self.key

    @property
    def traffic_percent(self) -> float:
        return (self.bucket_end - self.bucket_start) * 100 / LAYER_BUCKETS


class Assignment(models.Model):
    """A unit's arm in an experiment, written when the unit is first exposed (the variant was
    used); later evaluations keep it (sticky), so a signed-in user keeps the arm on every
    device. `unit` is "u:<user id>" or "d:<device id>"; a visitor who signs in keeps the arm
    their device had (the user row is written from it). Plain bigint key: never sent out."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="assignments")
    unit = models.CharField(max_length=140)
    arm = models.CharField(max_length=64)
    # The experiment's salt when assigned: a restart (new salt) makes old rows not count.
    salt = models.CharField(max_length=32)
    first_exposed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "unit"], name="experiments_assignment_unit"
            ),
        ]
        indexes = [models.Index(fields=["unit"], name="experiments_assign_unit")]

    def __str__(self) -> str:
        return f"{self.unit} in {self.experiment_id}: {self.arm}"
