"""Table sources: per-user values a metric reads from a table rather than the event lake.

A source answers, for the given users and time window, rows of (user id, when, amount);
analysis buckets them by day as it does events. Built in: `revenue` (payments this app may
read: payments is a lower layer). Higher apps add theirs with `TABLE_SOURCES.register(...)`
in their AppConfig.ready().
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from apps.core.hooks import Hook


class TableRows(Protocol):
    def __call__(
        self, *, user_ids: Sequence[int], start: datetime, end: datetime
    ) -> list[tuple[int, datetime, float]]: ...


@dataclass(frozen=True)
class TableSource:
    key: str
    label: str
    rows: TableRows


TABLE_SOURCES: Hook[TableSource] = Hook("experiments.table_sources")


def _revenue_rows(
    *, user_ids: Sequence[int], start: datetime, end: datetime
) -> list[tuple[int, datetime, float]]:
    """Succeeded payments in USD, net of refunds, when they succeeded (payments' minor unit
    is cents). Other currencies are left out rather than summed at no rate."""
    from apps.payments.models import Payment

    rows = Payment.objects.filter(
        user_id__in=list(user_ids),
        status=Payment.Status.SUCCEEDED,
        currency="USD",
        succeeded_at__gte=start,
        succeeded_at__lt=end,
    ).values_list("user_id", "succeeded_at", "amount_minor", "amount_refunded_minor")
    return [
        (uid, at, (amount - refunded) / 100) for uid, at, amount, refunded in rows if at is not None
    ]


REVENUE = TABLE_SOURCES.register(TableSource("revenue", "Revenue (USD, payments)", _revenue_rows))


def table_sources() -> dict[str, TableSource]:
    return {source.key: source for source in TABLE_SOURCES}


def table_source_keys() -> set[str]:
    return set(table_sources())
