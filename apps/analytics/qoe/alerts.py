"""QoE alert thresholds checked by beat (`apps.analytics.qoe_check_thresholds`, every 5
minutes): each enabled threshold's figure over its last window, from the lake.

Crossing raises the project's alert, as the ledger's reconciliation does: an error log line
(`qoe.alert`), one audit row (`analytics.qoe_alert`, no actor: the system), a mail to
ADMINS, and the banner on the QoE page until it recovers; recovering writes
`analytics.qoe_recovered` and a warning line. A threshold alerts once per crossing, not on
every check. A window with fewer than `min_reports` reports (or no value) is not judged:
the state stays as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.mail import mail_admins
from django.db import transaction
from django.utils import timezone

from apps.analytics.lake.engine import EngineError
from apps.analytics.models import QoeThreshold
from apps.analytics.qoe.figures import FIGURES, QoeRow, qoe_window
from apps.core.audit import record_audit

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckResult:
    checked: int
    raised: list[int]
    recovered: list[int]


def crossed(threshold: QoeThreshold, value: float) -> bool:
    if threshold.direction == QoeThreshold.Direction.BELOW:
        return value < threshold.value
    return value > threshold.value


def describe(threshold: QoeThreshold, value: float, reports: int) -> str:
    name, unit = FIGURES[threshold.figure]
    scope = ", ".join(s for s in (threshold.platform, threshold.network_type) if s)
    return (
        f"{name} {value:,.1f} {unit} over the last {threshold.window_minutes} min "
        f"({reports:,} plays{', ' + scope if scope else ''}): "
        f"{threshold.direction} the threshold {threshold.value:g} {unit}"
    )


def check_thresholds(now: datetime | None = None) -> CheckResult:
    now = now or timezone.now()
    raised: list[int] = []
    recovered: list[int] = []
    windows: dict[tuple[int, str, str], QoeRow] = {}
    failed: set[tuple[int, str, str]] = set()
    thresholds = list(QoeThreshold.objects.filter(enabled=True))
    for threshold in thresholds:
        key = (threshold.window_minutes, threshold.platform, threshold.network_type)
        if key in failed:
            continue
        if key not in windows:  # thresholds on the same window share one query
            try:
                windows[key] = qoe_window(
                    now - timedelta(minutes=threshold.window_minutes),
                    now,
                    platform=threshold.platform,
                    network=threshold.network_type,
                )
            except EngineError as exc:  # the lake unreadable: judged at the next run
                failed.add(key)
                logger.error(
                    "QoE thresholds: the event lake could not be read: %s",
                    exc,
                    extra={"event": "qoe.check_failed"},
                )
                continue
        row = windows[key]
        value = row.figure(threshold.figure)
        judged = value is not None and row.reports >= threshold.min_reports
        with transaction.atomic():
            threshold.last_value = value
            threshold.last_reports = row.reports
            threshold.last_checked_at = now
            fields = ["last_value", "last_reports", "last_checked_at"]
            if judged:
                assert value is not None
                over = crossed(threshold, value)
                if over and not threshold.alerting:
                    threshold.alerting, threshold.alerting_since = True, now
                    raised.append(threshold.pk)
                    record_audit(
                        actor=None,
                        action="analytics.qoe_alert",
                        target=threshold,
                        reason=describe(threshold, value, row.reports),
                        figure=threshold.figure,
                        value=value,
                        reports=row.reports,
                        threshold=threshold.value,
                    )
                elif not over and threshold.alerting:
                    threshold.alerting, threshold.alerting_since = False, None
                    recovered.append(threshold.pk)
                    record_audit(
                        actor=None,
                        action="analytics.qoe_recovered",
                        target=threshold,
                        reason=describe(threshold, value, row.reports),
                        figure=threshold.figure,
                        value=value,
                        reports=row.reports,
                        threshold=threshold.value,
                    )
                fields += ["alerting", "alerting_since"]
            threshold.save(update_fields=fields)
        if threshold.pk in raised:
            assert value is not None
            text = describe(threshold, value, row.reports)
            logger.error(
                "QoE alert: %s",
                text,
                extra={
                    "event": "qoe.alert",
                    "threshold_id": threshold.pk,
                    "figure": threshold.figure,
                    "value": value,
                },
            )
            mail_admins(
                f"QoE alert: {FIGURES[threshold.figure][0]}",
                f"{text}.\nSee Analytics > QoE in the staff console.",
                fail_silently=True,
            )
        elif threshold.pk in recovered:
            logger.warning(
                "QoE recovered: %s",
                describe(threshold, value or 0, row.reports),
                extra={"event": "qoe.recovered", "threshold_id": threshold.pk},
            )
    return CheckResult(checked=len(thresholds), raised=raised, recovered=recovered)
