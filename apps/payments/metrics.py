"""`/metrics` gauges of the ledger's reconciliation, read from the latest run at scrape
time (the run happens in a worker; the web process exports it): alert on
`swipeme_ledger_reconciliation_differences > 0` or a stale
`swipeme_ledger_reconciliation_timestamp_seconds`."""

from __future__ import annotations

import logging
from collections.abc import Iterator

from django.db import DatabaseError
from prometheus_client.core import REGISTRY, GaugeMetricFamily
from prometheus_client.registry import Collector

logger = logging.getLogger(__name__)


class ReconciliationCollector(Collector):
    def describe(self) -> Iterator[GaugeMetricFamily]:
        # Registering asks for the names; without this it would call collect() (a query
        # while the apps load).
        yield GaugeMetricFamily("swipeme_ledger_reconciliation_differences", "")
        yield GaugeMetricFamily("swipeme_ledger_reconciliation_timestamp_seconds", "")

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from apps.payments.selectors import latest_reconciliation

        try:
            run = latest_reconciliation()
        except DatabaseError:  # a scrape never fails for the database's sake
            logger.warning("ledger metrics: the database did not answer")
            return
        if run is None or run.finished_at is None:
            return
        yield GaugeMetricFamily(
            "swipeme_ledger_reconciliation_differences",
            "Differences the latest ledger reconciliation found (0: the books balance).",
            value=run.differences)
        yield GaugeMetricFamily(
            "swipeme_ledger_reconciliation_timestamp_seconds",
            "When the latest ledger reconciliation finished (Unix time).",
            value=run.finished_at.timestamp())


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(ReconciliationCollector())
        _registered = True
