"""Reporting: apps.ads' report (`measurement.reporting.ad_report`: sums of the daily table,
reach counted exactly from the events) by day, campaign, ad group, ad, age band or country
over a range of UTC days, as server-rendered SVG charts, a table, and the CSV export
(`report_csv`, the same numbers)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_safe

from apps.ads.measurement import reporting
from apps.adsportal import reads
from apps.adsportal.access import Seat, portal_view, seat_for
from apps.adsportal.charts import Point, bar_chart
from apps.adsportal.forms import apply_errors
from apps.core.errors import ApplicationError
from apps.core.ids import parse_id
from apps.payments.money import format_money

DEFAULT_DAYS = 14
NONE = "\u2013"  # an en dash: no value (no impressions, no clicks)
BREAKDOWNS = (
    ("day", "Day"),
    ("campaign", "Campaign"),
    ("ad_group", "Ad group"),
    ("ad", "Ad"),
    ("age_band", "Age band"),
    ("country", "Country"),
)
CHARTS = (
    ("impressions", "Impressions"),
    ("clicks", "Clicks"),
    ("views_2s", "2-second views"),
    ("spend_micros", "Spend"),
)


class ReportForm(forms.Form):
    by = forms.ChoiceField(label="Break down by", choices=BREAKDOWNS, required=False)
    since = forms.DateField(
        label="From", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="Until", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    campaign = forms.ChoiceField(label="Campaign", required=False)

    def __init__(self, *args: Any, campaigns: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["campaign"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "All campaigns"), *campaigns]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        today = timezone.now().date()
        data["until"] = data.get("until") or today
        data["since"] = data.get("since") or data["until"] - timedelta(days=13)
        data["by"] = data.get("by") or "day"
        return data


def _report(request: HttpRequest, seat: Seat) -> tuple[ReportForm, reporting.Report | None]:
    campaigns = [(str(c.pk), c.name) for c in reads.campaigns_of(seat)]
    query = request.GET.copy()  # the range shown is in the form's fields, defaults too
    today = timezone.now().date()
    if not query.get("until"):
        query["until"] = today.isoformat()
    if not query.get("since"):
        query["since"] = (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat()
    if not query.get("by"):
        query["by"] = "day"
    form = ReportForm(query, campaigns=campaigns)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    try:
        report = reporting.ad_report(
            user=seat.user,
            org_id=seat.org.pk,
            since=data["since"],
            until=data["until"],
            by=data["by"],
            campaign_id=parse_id(data.get("campaign") or ""),
        )
    except ApplicationError as error:
        apply_errors(form, error)
        return form, None
    return form, report


def _money(micros: int | None, currency: str) -> str:
    if micros is None:
        return NONE
    if 0 < micros < 10_000:  # below a cent: say so rather than "$0.00"
        return f"{reporting.micros_text(micros)} {currency}"
    return format_money(micros, currency)


def _days(since: date, until: date) -> list[str]:
    return [(since + timedelta(days=n)).isoformat() for n in range((until - since).days + 1)]


def _charts(report: reporting.Report, currency: str) -> list[dict[str, Any]]:
    by_key = {row.key: row for row in report.rows}
    keys = _days(report.since, report.until) if report.by == "day" else list(by_key)
    out = []
    for metric, title in CHARTS:
        points = []
        for key in keys:
            row = by_key.get(key)
            value = getattr(row, metric) if row is not None else 0
            if metric == "spend_micros":
                value = value / 1_000_000
            label = key[5:] if report.by == "day" else (row.label if row else key)
            points.append(Point(label=label or "Unknown", value=value))
        unit = f" {currency}" if metric == "spend_micros" else ""
        out.append(
            {
                "title": title,
                "svg": bar_chart(
                    points, title=f"{title} by {dict(BREAKDOWNS)[report.by].lower()}", unit=unit
                ),
            }
        )
    return out


def _rows(report: reporting.Report, currency: str) -> list[dict[str, Any]]:
    def shaped(row: reporting.ReportRow) -> dict[str, Any]:
        return {
            "row": row,
            "spend": _money(row.spend_micros, currency),
            "ctr": NONE if row.ctr is None else f"{100 * row.ctr:.2f} %",
            "frequency": NONE if row.frequency is None else f"{row.frequency:.2f}",
            "cpm": _money(row.cpm_micros, currency),
            "cpc": _money(row.cpc_micros, currency),
            "cpv": _money(row.cpv_micros, currency),
            "cpa": _money(row.cpa_micros, currency),
        }

    return [shaped(row) for row in report.rows] + [shaped(report.total)]


@portal_view
@require_safe
def reports(request: HttpRequest, org_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "see_reports")
    form, report = _report(request, seat)
    currency = seat.org.currency
    return render(
        request,
        "adsportal/reports.html",
        {
            "seat": seat,
            "tab": "reports",
            "form": form,
            "report": report,
            "charts": _charts(report, currency) if report else [],
            "rows": _rows(report, currency) if report else [],
            "total": _rows(report, currency)[-1] if report else None,
            "csv_query": request.GET.urlencode(),
            "by_label": dict(BREAKDOWNS)[report.by] if report else "",
        },
        status=200 if report is not None else 400,
    )


@portal_view
@require_safe
def reports_csv(request: HttpRequest, org_id: str) -> HttpResponse:
    seat = seat_for(request, org_id, "see_reports")
    form, report = _report(request, seat)
    if report is None:
        errors = "; ".join(str(e) for errs in form.errors.values() for e in errs)
        return HttpResponse(
            f"The report could not be made: {errors}\n",
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    response = HttpResponse(reporting.report_csv(report), content_type="text/csv; charset=utf-8")
    name = f"swipeme-ads-{seat.org.pk}-{report.by}-{report.since}-{report.until}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response
