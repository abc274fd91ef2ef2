"""Delivery in the admin: the ad load (staff-configurable, every change audited by
AuditedModelAdmin) and the trained predictors (metrics; activate one, audited)."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from apps.ads.models import AdPredictor, DeliverySettings
from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import request_ip

from . import services


@admin.register(DeliverySettings)
class DeliverySettingsAdmin(AuditedModelAdmin):
    list_display = (
        "__str__",
        "ads_enabled",
        "min_gap",
        "max_gap",
        "reserve_cpm_micros",
        "updated_at",
    )
    readonly_fields = ("updated_at",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return not DeliverySettings.objects.exists()  # one row

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AdPredictor)
class AdPredictorAdmin(AuditedModelAdmin):
    list_display = (
        "version",
        "active",
        "trained_rows",
        "auc_click",
        "ece_click",
        "auc_view",
        "created_at",
    )
    readonly_fields = ("version", "active", "trained_rows", "pretty_metrics", "created_at")
    exclude = ("params", "metrics")
    actions = ("activate",)
    action_form = ReasonActionForm

    @admin.display(description="AUC (click)")
    def auc_click(self, row: AdPredictor) -> Any:
        return (row.metrics or {}).get("click", {}).get("auc")

    @admin.display(description="ECE (click)")
    def ece_click(self, row: AdPredictor) -> Any:
        return (row.metrics or {}).get("click", {}).get("ece")

    @admin.display(description="AUC (2 s view)")
    def auc_view(self, row: AdPredictor) -> Any:
        return (row.metrics or {}).get("view_2s", {}).get("auc")

    @admin.display(description="Held-out metrics")
    def pretty_metrics(self, row: AdPredictor) -> str:
        return format_html("<pre>{}</pre>", json.dumps(row.metrics, indent=2))

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training (manage.py ads_train_predictor)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Make the selected version the active predictor")
    def activate(self, request: HttpRequest, queryset: QuerySet[AdPredictor]) -> None:
        rows = list(queryset[:2])
        if len(rows) != 1:
            self.message_user(request, "Select exactly one version.", messages.ERROR)
            return
        services.predictor_activate(
            version=rows[0].version,
            actor=request.user,
            reason=action_reason(request),
            ip=request_ip(request),
        )
        self.message_user(
            request,
            f"Predictor v{rows[0].version} is active; serving picks it up within a minute.",
            messages.SUCCESS,
        )
