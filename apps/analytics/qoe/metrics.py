"""`/metrics` gauges of the QoE alert thresholds, read from their rows at scrape time (the
beat task runs in a worker; the web process exports what it found): alert on
`swipeme_qoe_threshold_alerting == 1`, or on a stale `swipeme_qoe_threshold_checked_seconds`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)

LABELS = ["threshold", "figure", "direction", "platform", "network_type"]


class QoeThresholdCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registering asks for the names; without this it would call collect() (a query
        # while the apps load).
        yield GaugeMetricFamily("swipeme_qoe_threshold_alerting", "", labels=LABELS)
        yield GaugeMetricFamily("swipeme_qoe_threshold_value", "", labels=LABELS)
        yield GaugeMetricFamily("swipeme_qoe_threshold_checked_seconds", "", labels=LABELS)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from apps.analytics.models import QoeThreshold

        try:
            rows = list(QoeThreshold.objects.filter(enabled=True))
        except DatabaseError:  # a scrape never fails for the database's sake
            logger.warning("QoE metrics: the database did not answer")
            return
        alerting = GaugeMetricFamily(
            "swipeme_qoe_threshold_alerting",
            "1 while the QoE figure is past the staff's threshold (analytics.QoeThreshold).",
            labels=LABELS,
        )
        value = GaugeMetricFamily(
            "swipeme_qoe_threshold_value",
            "The QoE figure over the threshold's last window at its last check.",
            labels=LABELS,
        )
        checked = GaugeMetricFamily(
            "swipeme_qoe_threshold_checked_seconds",
            "When the threshold was last checked (Unix time).",
            labels=LABELS,
        )
        for row in rows:
            labels = [str(row.pk), row.figure, row.direction, row.platform, row.network_type]
            alerting.add_metric(labels, 1.0 if row.alerting else 0.0)
            if row.last_value is not None:
                value.add_metric(labels, row.last_value)
            if row.last_checked_at is not None:
                checked.add_metric(labels, row.last_checked_at.timestamp())
        yield alerting
        yield value
        yield checked


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(QoeThresholdCollector())
        _registered = True
