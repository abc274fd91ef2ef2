"""Metric definitions (edited in the staff console) and each experiment's primary metric and
guardrails.

A metric is a per-unit value averaged over an arm's units (`mean`: watch time per user) or a
ratio of two per-unit sums (`ratio`: rebuffers per play, whose denominator varies by user;
its variance comes from the delta method). Each side is a *measure*: over the event lake, an
aggregation (count, sum of a data field, distinct values of a field, events carrying a
field, "came back on day N after exposure") of one or more event types (comma-separated;
empty = any), or a named table source (revenue from payments). apps.experiments.analysis
turns them into SQL; this module only holds and validates them.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel
from apps.events import schema
from apps.experiments.models.experiments import Experiment

# Event columns (not data fields) a measure may count distinct values of.
EVENT_COLUMNS = ("session_id", "post_id")


class Aggregation(models.TextChoices):
    COUNT = "count", "Count of events"
    SUM = "sum", "Sum of a numeric field"
    DISTINCT = "distinct", "Distinct values of a field (per day)"
    WITH_FIELD = "with_field", "Events carrying a field (non-empty)"
    RETURNED = "returned", "Came back on day N after exposure (0/1)"
    VALUES = "values", "The values of a numeric field (quantile metrics)"


class Source(models.TextChoices):
    EVENTS = "events", "Event lake"
    TABLE = "table", "Table source"


@dataclass(frozen=True)
class Measure:
    """One side of a metric, as apps.experiments.analysis reads it."""

    source: str
    event_type: str  # comma-separated event types; "" = any event type
    aggregation: str
    field: str
    table: str
    day: int | None

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(t.strip() for t in self.event_type.split(",") if t.strip())


def _event_fields(event_types: tuple[str, ...]) -> dict[str, schema.Field]:
    """The data fields every one of the types carries (any type's when none is named)."""
    if not event_types:
        merged: dict[str, schema.Field] = {}
        for fields in schema.DATA_FIELDS.values():
            merged.update(fields)
        return merged
    common = dict(schema.DATA_FIELDS.get(event_types[0], {}))
    for event_type in event_types[1:]:
        other = schema.DATA_FIELDS.get(event_type, {})
        common = {name: spec for name, spec in common.items() if name in other}
    return common


def measure_errors(measure: Measure, side: str) -> dict[str, str]:
    """Form errors of one measure, keyed by its field names (`numerator_event_type`, ...)."""
    from apps.experiments.metric_sources import table_source_keys

    errors: dict[str, str] = {}
    if measure.source == Source.TABLE:
        keys = table_source_keys()
        if measure.table not in keys:
            errors[f"{side}_table"] = (
                f"Unknown table source {measure.table!r}; the known ones are: "
                f"{', '.join(sorted(keys)) or 'none'}."
            )
        return errors
    unknown = [t for t in measure.event_types if t not in schema.EVENT_TYPES]
    if unknown:
        errors[f"{side}_event_type"] = (
            f"Unknown event type {', '.join(map(repr, unknown))}: the event contract "
            f"(apps/events/schema.py) has {', '.join(sorted(schema.EVENT_TYPES))}."
        )
        return errors
    fields = _event_fields(measure.event_types)
    what = f"{', '.join(measure.event_types)} events" if measure.event_types else "any event"
    if measure.aggregation in (Aggregation.SUM, Aggregation.VALUES):
        spec = fields.get(measure.field)
        if not isinstance(spec, schema.IntField):
            numeric = sorted(n for n, f in fields.items() if isinstance(f, schema.IntField))
            errors[f"{side}_field"] = (
                f"{measure.field or '(empty)'!r} is not a numeric field of {what}; "
                f"numeric fields: {', '.join(numeric) or 'none'}."
            )
    elif measure.aggregation == Aggregation.DISTINCT:
        if measure.field not in EVENT_COLUMNS and measure.field not in fields:
            errors[f"{side}_field"] = (
                f"{measure.field or '(empty)'!r} is neither an event column "
                f"({', '.join(EVENT_COLUMNS)}) nor a field of {what}."
            )
    elif measure.aggregation == Aggregation.WITH_FIELD:
        if measure.field not in fields:
            errors[f"{side}_field"] = (
                f"{measure.field or '(empty)'!r} is not a field of {what}; its fields: "
                f"{', '.join(sorted(fields)) or 'none'}."
            )
    elif measure.aggregation == Aggregation.RETURNED:
        if measure.day is None or measure.day < 1:
            errors[f"{side}_day"] = "A retention measure needs its day (1 for D1, 7 for D7)."
    elif measure.aggregation != Aggregation.COUNT:
        errors[f"{side}_aggregation"] = f"Unknown aggregation {measure.aggregation!r}."
    return errors


class Metric(TimestampedModel):
    class Kind(models.TextChoices):
        MEAN = "mean", "Mean per unit"
        RATIO = "ratio", "Ratio of sums (delta method)"
        QUANTILE = "quantile", "Quantile of a field's values (delta method)"

    key = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.MEAN)
    higher_is_better = models.BooleanField(default=True)
    # The value's unit for display ("ms", "USD"); the numerator is divided by `scale` first
    # (watched_ms / 60000 → minutes).
    unit = models.CharField(max_length=16, blank=True)
    scale = models.FloatField(default=1.0)
    # quantile metrics: which one (0.95: the p95 of the numerator's values)
    quantile = models.FloatField(
        null=True, blank=True, help_text="Quantile metrics only: 0.5 for the median, 0.95 ..."
    )

    numerator_source = models.CharField(max_length=8, choices=Source.choices, default=Source.EVENTS)
    numerator_event_type = models.CharField(
        max_length=200,
        blank=True,
        help_text="Event types, comma-separated (watch_end,skip); empty: any event type.",
    )
    numerator_aggregation = models.CharField(
        max_length=12, choices=Aggregation.choices, default=Aggregation.COUNT
    )
    numerator_field = models.CharField(max_length=64, blank=True)
    numerator_table = models.CharField(max_length=64, blank=True)
    numerator_day = models.PositiveSmallIntegerField(null=True, blank=True)

    denominator_source = models.CharField(
        max_length=8, choices=Source.choices, default=Source.EVENTS, blank=True
    )
    denominator_event_type = models.CharField(max_length=200, blank=True)
    denominator_aggregation = models.CharField(
        max_length=12, choices=Aggregation.choices, blank=True
    )
    denominator_field = models.CharField(max_length=64, blank=True)
    denominator_table = models.CharField(max_length=64, blank=True)
    denominator_day = models.PositiveSmallIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.name or self.key

    @property
    def numerator(self) -> Measure:
        return Measure(
            self.numerator_source,
            self.numerator_event_type,
            self.numerator_aggregation,
            self.numerator_field,
            self.numerator_table,
            self.numerator_day,
        )

    @property
    def denominator(self) -> Measure | None:
        if self.kind != self.Kind.RATIO:
            return None
        return Measure(
            self.denominator_source or Source.EVENTS,
            self.denominator_event_type,
            self.denominator_aggregation,
            self.denominator_field,
            self.denominator_table,
            self.denominator_day,
        )

    @property
    def uses_cuped(self) -> bool:
        """CUPED needs the same measure over the pre-period: mean metrics over events that
        are not retention (a pre-period has no 'day N after exposure')."""
        return (
            self.kind == self.Kind.MEAN
            and self.numerator_source == Source.EVENTS
            and self.numerator_aggregation != Aggregation.RETURNED
        )

    def clean(self) -> None:
        errors = measure_errors(self.numerator, "numerator")
        denominator = self.denominator
        if denominator is not None:
            if not self.denominator_aggregation:
                errors["denominator_aggregation"] = "A ratio metric needs its denominator."
            else:
                errors.update(measure_errors(denominator, "denominator"))
        elif self.denominator_aggregation or self.denominator_event_type:
            errors["kind"] = (
                "A mean metric has no denominator; make it a ratio metric or clear the denominator."
            )
        quantile = self.kind == self.Kind.QUANTILE
        if quantile and self.numerator_aggregation != Aggregation.VALUES:
            errors["numerator_aggregation"] = (
                "A quantile metric takes the values of a numeric field: choose 'values'."
            )
        elif not quantile and self.numerator_aggregation == Aggregation.VALUES:
            errors["numerator_aggregation"] = "Only a quantile metric takes a field's values."
        if quantile and (self.quantile is None or not 0 < self.quantile < 1):
            errors["quantile"] = "A quantile metric needs its quantile, between 0 and 1 (0.95)."
        elif not quantile and self.quantile is not None:
            errors["quantile"] = "Only a quantile metric has a quantile; clear it."
        if self.denominator_aggregation == Aggregation.VALUES:
            errors["denominator_aggregation"] = "A denominator is a count or a sum, not values."
        if self.scale == 0:
            errors["scale"] = "The scale divides the value: it cannot be 0."
        if errors:
            raise ValidationError(errors)


class ExperimentMetric(models.Model):
    """A metric an experiment is judged on: one primary, any number of guardrails (a
    significant harm blocks shipping) and secondary metrics (shown, not decisive)."""

    class Role(models.TextChoices):
        PRIMARY = "primary", "Primary"
        GUARDRAIL = "guardrail", "Guardrail"
        SECONDARY = "secondary", "Secondary"

    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="metric_links"
    )
    metric = models.ForeignKey(Metric, on_delete=models.PROTECT, related_name="experiment_links")
    role = models.CharField(max_length=12, choices=Role.choices)

    class Meta:
        ordering = ["experiment", "role", "metric"]
        constraints = [
            models.UniqueConstraint(
                fields=["experiment", "metric"], name="experiments_metric_once"
            ),
            models.UniqueConstraint(
                fields=["experiment"],
                condition=Q(role="primary"),
                name="experiments_one_primary_metric",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id}: {self.metric_id} ({self.role})"


class ResultSnapshot(models.Model):
    """One day's results of an experiment (the chart over time and the page read these):
    `payload` is apps.experiments.analysis.ExperimentResults.as_json()."""

    experiment = models.ForeignKey(
        Experiment, on_delete=models.CASCADE, related_name="result_snapshots"
    )
    day = models.DateField()
    as_of = models.DateTimeField()
    computed_at = models.DateTimeField(auto_now=True)
    payload = models.JSONField()

    class Meta:
        ordering = ["experiment", "day"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "day"], name="experiments_snapshot_day"),
        ]

    def __str__(self) -> str:
        return f"{self.experiment_id} on {self.day}"
