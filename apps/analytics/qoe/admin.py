"""The staff console's QoE page and its alert thresholds (Django admin).

- `/django-admin/analytics/qoethreshold/qoe/` (`admin:analytics_qoe`): the figures of
  `figures.qoe_report` for a day range, filtered by platform, network type and rung; a
  chart per figure by day (SVG drawn here), the breakdowns as tables, and a red banner for
  every threshold that is alerting. Staff with the view permission on thresholds only.
- Thresholds: added, edited and deleted by staff, each change one audit row
  (AuditedModelAdmin); the beat task writes their state, which the form shows read-only.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone

from apps.analytics.lake.engine import EngineError
from apps.analytics.models import QoeThreshold
from apps.analytics.qoe.charts import day_chart
from apps.analytics.qoe.figures import FIGURES, PLATFORMS, QoeFilters, QoeRow, qoe_report
from apps.core.admin import AuditedModelAdmin
from apps.events.schema import NETWORK_TYPES

MAX_DAYS = 92
DEFAULT_DAYS = 7


class QoeFilterForm(forms.Form):
    first = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"})
    )
    last = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"})
    )
    platform = forms.ChoiceField(
        required=False, choices=[("", "All platforms"), *((p, p) for p in PLATFORMS)]
    )
    network = forms.ChoiceField(
        required=False, choices=[("", "All networks"), *((n, n) for n in NETWORK_TYPES)]
    )
    rung = forms.IntegerField(
        required=False, min_value=1, max_value=4320, label="Rung (short edge, px)"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.now().date()
        last = data.get("last") or today
        first = data.get("first") or last - timedelta(days=DEFAULT_DAYS - 1)
        if first > last:
            raise forms.ValidationError("The first day is after the last day.")
        if (last - first).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"At most {MAX_DAYS} days at once.")
        data["first"], data["last"] = first, last
        return data


def _cell(row: QoeRow, name: str) -> str:
    value = row.figure(name)
    if value is None:
        return "—"
    unit = FIGURES[name][1]
    digits = 2 if name == "rebuffer_ratio" else 1 if unit == "%" else 0
    return f"{value:,.{digits}f} {unit}"


def _table_row(row: QoeRow, label: str) -> dict[str, Any]:
    return {
        "label": label,
        "reports": f"{row.reports:,}",
        "failures": f"{row.startup_failures:,}",
        "cells": [_cell(row, name) for name in FIGURES],
    }


def _with_default_days(request: HttpRequest) -> QueryDict:
    """The query with the default range filled in, so the form shows the days it is on."""
    params = request.GET.copy()
    today = timezone.now().date()
    if not params.get("last"):
        params["last"] = today.isoformat()
    if not params.get("first"):
        try:
            last = date.fromisoformat(str(params.get("last")))
        except ValueError:
            last = today  # the form says what is wrong with `last`
        params["first"] = (last - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    return params


def _days(first: date, last: date) -> list[str]:
    return [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]


@admin.register(QoeThreshold)
class QoeThresholdAdmin(AuditedModelAdmin):
    list_display = (
        "figure",
        "direction",
        "value",
        "window_minutes",
        "min_reports",
        "platform",
        "network_type",
        "enabled",
        "state",
        "last_value",
        "last_checked_at",
    )
    list_filter = ("figure", "enabled", "alerting")
    readonly_fields = (
        "alerting",
        "alerting_since",
        "last_value",
        "last_reports",
        "last_checked_at",
    )
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "figure",
                    "direction",
                    "value",
                    "window_minutes",
                    "min_reports",
                    "platform",
                    "network_type",
                    "enabled",
                )
            },
        ),
        ("Last check (beat, every 5 minutes)", {"fields": readonly_fields}),
    )

    @admin.display(description="State")
    def state(self, row: QoeThreshold) -> str:
        if row.last_checked_at is None:
            return "not checked yet"
        return "ALERTING" if row.alerting else "ok"

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {**(extra_context or {}), "qoe_page": reverse("admin:analytics_qoe")}
        return super().changelist_view(request, extra)

    def get_urls(self) -> list[URLPattern]:
        extra = [path("qoe/", self.admin_site.admin_view(self.qoe_view), name="analytics_qoe")]
        return extra + super().get_urls()  # type: ignore[operator]

    def qoe_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = QoeFilterForm(_with_default_days(request))
        error = ""
        report = None
        if form.is_valid():
            data = form.cleaned_data
            filters = QoeFilters(
                first_day=data["first"],
                last_day=data["last"],
                platform=data.get("platform") or "",
                network=data.get("network") or "",
                rung=str(data["rung"]) if data.get("rung") else "",
            )
            try:
                report = qoe_report(filters)
            except EngineError as exc:
                error = f"The QoE figures could not be read from the event lake: {exc}"
        thresholds = list(QoeThreshold.objects.filter(enabled=True))
        alerting = [t for t in thresholds if t.alerting]
        context: dict[str, Any] = {
            **self.admin_site.each_context(request),
            "title": "Quality of experience",
            "opts": self.model._meta,
            "form": form,
            "error": error,
            "report": report,
            "alerting": alerting,
            "thresholds": thresholds,
            "headers": [label for label, _ in FIGURES.values()],
            "thresholds_url": reverse("admin:analytics_qoethreshold_changelist"),
        }
        if report is not None:
            days = _days(report.filters.first_day, report.filters.last_day)
            by_day = {row.key: row for row in report.by_day}

            def values(name: str) -> list[float | None]:
                return [by_day[d].figure(name) if d in by_day else None for d in days]

            def limit(name: str) -> float | None:
                mine = [
                    t.value
                    for t in thresholds
                    if t.figure == name and not t.platform and not t.network_type
                ]
                return mine[0] if mine else None

            context["charts"] = [
                {
                    "title": "Time to first frame",
                    "svg": day_chart(
                        days,
                        [("p50", values("ttff_p50_ms")), ("p95", values("ttff_p95_ms"))],
                        title="Time to first frame p50 and p95 by day",
                        unit="ms",
                        threshold=limit("ttff_p95_ms"),
                    ),
                },
                *(
                    {
                        "title": FIGURES[name][0],
                        "svg": day_chart(
                            days,
                            [(FIGURES[name][0], values(name))],
                            title=f"{FIGURES[name][0]} by day",
                            unit=FIGURES[name][1],
                            threshold=limit(name),
                        ),
                    }
                    for name in (
                        "rebuffer_ratio",
                        "stall_percentage",
                        "avg_bitrate_kbps",
                        "startup_failure_rate",
                    )
                ),
            ]
            context["totals"] = [
                {"label": label, "value": _cell(report.total, name), "figure": name}
                for name, (label, _unit) in FIGURES.items()
            ]
            context["tables"] = [
                ("By day", [_table_row(r, r.key) for r in report.by_day]),
                ("By platform", [_table_row(r, r.key) for r in report.by_platform]),
                ("By network type", [_table_row(r, r.key) for r in report.by_network]),
                (
                    "By rung",
                    [
                        _table_row(r, f"{r.key}p" if r.key else "not reported")
                        for r in report.by_rung
                    ],
                ),
            ]
        return TemplateResponse(request, "admin/analytics/qoe.html", context)
