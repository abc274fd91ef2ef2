"""Delivery's tables: the staff's ad-load settings (one row) and the trained predictors.

The auction log is not a table: records go to a capped Redis list (`delivery.auctionlog`)
and are replayed from there or from the copy an operator saves."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel


class DeliverySettings(models.Model):
    """Staff-editable ad load (the admin; every change audited). One row (pk=1); when
    absent, the settings' defaults apply."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    ads_enabled = models.BooleanField(default=True, help_text="Serve ads in For You at all.")
    min_gap = models.PositiveSmallIntegerField(
        default=6, help_text="At least this many organic posts between two ads."
    )
    max_gap = models.PositiveSmallIntegerField(
        default=8, help_text="The gap is drawn between min and max for each slot."
    )
    reserve_cpm_micros = models.BigIntegerField(
        default=500_000,
        help_text="Least expected value per 1,000 impressions (micros) an ad must bring.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "ad delivery settings"
        verbose_name_plural = "ad delivery settings"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="ads_delivery_settings_one_row"),
            models.CheckConstraint(
                condition=Q(min_gap__gte=1) & Q(max_gap__gte=models.F("min_gap")),
                name="ads_delivery_settings_gaps",
            ),
            models.CheckConstraint(
                condition=Q(reserve_cpm_micros__gte=0), name="ads_delivery_reserve_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"1 ad per {self.min_gap}-{self.max_gap} posts"


class AdPredictor(TimestampedModel):
    """A trained pCTR / p2sView model: logistic regression weights and a Platt
    calibration per head, the per-ad counts it was trained with (the prior for ads
    it never saw is the Beta prior's mean), and its held-out metrics."""

    version = models.PositiveIntegerField(unique=True)
    params = models.JSONField()
    metrics = models.JSONField(default=dict)
    trained_rows = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=False)

    class Meta:
        ordering = ["-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["active"], condition=Q(active=True), name="ads_one_active_predictor"
            )
        ]

    def __str__(self) -> str:
        return f"ad predictor v{self.version}{' (active)' if self.active else ''}"
