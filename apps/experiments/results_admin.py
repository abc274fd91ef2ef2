"""The staff console's metric definitions and experiment results (Django admin).

- Metrics: add and edit definitions; the model's validation refuses unknown event types,
  fields and table sources in words on the form. Audited (AuditedModelAdmin).
- Experiment metrics: an experiment's primary metric, guardrails and secondary metrics
  (`ExperimentMetricInline` for the experiment's own page, and a list of its own).
- Results: /admin/experiments/resultsnapshot/experiment/<id>/ shows the latest snapshot:
  per metric the effect, its always-valid interval, the BH-adjusted p-value, CUPED on or
  off, a chart over the days, and the recommendation in words; a sample-ratio mismatch
  blocks all of it with the reason. "Compute now" refreshes the snapshot (the daily task
  does it for running experiments).
"""

from __future__ import annotations

import math
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html

from apps.analytics.lake.engine import EngineError
from apps.core.admin import AuditedModelAdmin
from apps.experiments.analysis import AnalysisError, latest_snapshot, snapshot_experiment
from apps.experiments.charts import effect_chart
from apps.experiments.models import Experiment, ExperimentMetric, Metric, ResultSnapshot


@admin.register(Metric)
class MetricAdmin(AuditedModelAdmin):
    list_display = (
        "key",
        "name",
        "kind",
        "higher_is_better",
        "numerator_event_type",
        "numerator_aggregation",
        "denominator_event_type",
        "unit",
    )
    list_filter = ("kind", "higher_is_better")
    search_fields = ("key", "name", "description")
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "key",
                    "name",
                    "description",
                    "kind",
                    "quantile",
                    "higher_is_better",
                    "unit",
                    "scale",
                )
            },
        ),
        (
            "Numerator (the value per unit; a ratio's top)",
            {
                "fields": (
                    "numerator_source",
                    "numerator_event_type",
                    "numerator_aggregation",
                    "numerator_field",
                    "numerator_table",
                    "numerator_day",
                )
            },
        ),
        (
            "Denominator (ratio metrics only)",
            {
                "fields": (
                    "denominator_source",
                    "denominator_event_type",
                    "denominator_aggregation",
                    "denominator_field",
                    "denominator_table",
                    "denominator_day",
                )
            },
        ),
    )


class ExperimentMetricInline(admin.TabularInline):  # type: ignore[type-arg]
    model = ExperimentMetric
    extra = 1
    autocomplete_fields = ("metric",)


@admin.register(ExperimentMetric)
class ExperimentMetricAdmin(AuditedModelAdmin):
    list_display = ("experiment", "metric", "role")
    list_filter = ("role",)
    list_select_related = ("experiment", "metric")
    raw_id_fields = ("experiment",)
    autocomplete_fields = ("metric",)


def _fmt(value: float | None, unit: str = "", signed: bool = False) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    magnitude = abs(value)
    digits = 0 if magnitude >= 100 else 2 if magnitude >= 1 else 3
    text = f"{value:+,.{digits}f}" if signed else f"{value:,.{digits}f}"
    return f"{text} {unit}".strip()


def _pct(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "—"
    return f"{value * 100:+.1f} %"


def _p(value: float | None) -> str:
    if value is None:
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def _row(c: dict[str, Any]) -> dict[str, Any]:
    unit = c.get("unit") or ""
    if c["significant"]:
        verdict = "better" if c["improved"] else "worse"
    else:
        verdict = "no significant change"
    reduction = c.get("variance_reduction")
    return {
        "metric": c["metric"],
        "name": c["name"],
        "role": c["role"],
        "arm": c["arm"],
        "n": f"{c['n_control']:,} / {c['n_treatment']:,}",
        "control": _fmt(c["control_value"], unit),
        "treatment": _fmt(c["treatment_value"], unit),
        "difference": _fmt(c["difference"], unit, signed=True),
        "relative": _pct(c.get("relative")),
        "ci": f"[{_fmt(c['ci_low'], signed=True)}, {_fmt(c['ci_high'], signed=True)}]",
        "relative_ci": f"[{_pct(c.get('relative_ci_low'))}, {_pct(c.get('relative_ci_high'))}]",
        "p": _p(c["p_value"]),
        "adjusted_p": _p(c["adjusted_p"]),
        "verdict": verdict,
        "cuped": c["cuped"],
        "reduction": f"{reduction * 100:.0f} %"
        if c["cuped"] and reduction is not None and reduction >= 0.005
        else "",
        "chart": effect_chart(
            c.get("history") or [], title=f"{c['name']}: {c['arm']} minus {c['control']} by day"
        ),
    }


@admin.register(ResultSnapshot)
class ResultSnapshotAdmin(AuditedModelAdmin):
    list_display = ("experiment", "day", "as_of", "computed_at", "results_link")
    list_select_related = ("experiment",)
    list_filter = ("day",)
    search_fields = ("experiment__key",)
    exclude = ("payload",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # snapshots come from the analysis

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="Results")
    def results_link(self, row: ResultSnapshot) -> str:
        url = reverse("admin:experiments_results", args=[row.experiment_id])
        return format_html('<a href="{}">Results</a>', url)

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "experiment/<int:experiment_id>/",
                self.admin_site.admin_view(self.results_view),
                name="experiments_results",
            )
        ]
        return extra + super().get_urls()  # type: ignore[operator]

    def results_view(self, request: HttpRequest, experiment_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        experiment = get_object_or_404(Experiment, pk=experiment_id)
        if request.method == "POST":
            try:
                snapshot_experiment(experiment)
            except (AnalysisError, EngineError) as exc:
                self.message_user(
                    request, f"The results could not be computed: {exc}", messages.ERROR
                )
            else:
                self.message_user(request, "Results computed.", messages.SUCCESS)
            return HttpResponseRedirect(request.path)
        snapshot = latest_snapshot(experiment)
        variant = "raw" if request.GET.get("cuped") == "off" else "cuped"
        payload = snapshot.payload if snapshot is not None else None
        rows: list[dict[str, Any]] = []
        verdicts: list[dict[str, Any]] = []
        if payload is not None and not payload["srm_flagged"]:
            rows = [_row(c) for c in payload["comparisons"][variant]]
            verdicts = payload["verdicts"][variant]
        arms = []
        if payload is not None:
            arms = [
                {"key": key, "count": f"{count:,}", "expected": f"{payload['expected'][key]:,.0f}"}
                for key, count in payload["counts"].items()
            ]
        context = {
            **self.admin_site.each_context(request),
            "title": f"Results: {experiment.name or experiment.key}",
            "opts": self.model._meta,
            "experiment": experiment,
            "snapshot": snapshot,
            "payload": payload,
            "rows": rows,
            "verdicts": verdicts,
            "arms": arms,
            "cuped": variant == "cuped",
            "srm_p": _p(payload["srm_p_value"]) if payload else "",
        }
        return TemplateResponse(request, "admin/experiments/results.html", context)
