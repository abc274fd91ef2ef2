"""The staff console for flags, layers and experiments (Django admin).

Forms run the services' checks (apps.experiments.rules and services) so a bad definition is
refused in words on the form; every add and change is audited (AuditedModelAdmin), and the
actions (kill switch, start, stop, restart) go through the services, which audit them.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html

from apps.core.admin import AuditedModelAdmin, ReasonActionForm, action_reason
from apps.core.audit import request_ip
from apps.experiments import config, services
from apps.experiments.models import Assignment, Experiment, Flag, Layer
from apps.experiments.models.experiments import LAYER_BUCKETS
from apps.experiments.results_admin import ExperimentMetricInline
from apps.experiments.rules import RuleError, validate_conditions, validate_flag


class FlagForm(forms.ModelForm):  # type: ignore[type-arg]
    class Meta:
        model = Flag
        fields = (
            "key",
            "environment",
            "description",
            "kind",
            "default_value",
            "variations",
            "rules",
            "enabled",
            "client_visible",
        )
        help_texts = {
            "rules": "Ordered targeting rules (JSON); see the documentation.",
            "variations": "For a multivariate flag: the values it may take.",
        }

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if self.errors:
            return data
        if isinstance(data.get("default_value"), str):
            # forms.JSONField gives a JSON string as a `JSONString` (a str subclass), which
            # the variations' exact type check refused: no string flag could be saved here.
            data["default_value"] = str(data["default_value"])
        try:
            data["variations"], data["rules"] = validate_flag(
                key=data.get("key"),
                kind=data.get("kind", ""),
                default_value=data.get("default_value"),
                variations=data.get("variations") or [],
                rules=data.get("rules") or [],
            )
            if not self.instance._state.adding:  # as flag_save: live arms must still hold
                services.check_flag_edit(
                    Flag.objects.get(pk=self.instance.pk),
                    key=data["key"],
                    environment=data["environment"],
                    kind=data["kind"],
                    variations=data["variations"],
                )
        except RuleError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data


@admin.register(Flag)
class FlagAdmin(AuditedModelAdmin):
    form = FlagForm
    list_display = (
        "key",
        "environment",
        "kind",
        "enabled",
        "default_value",
        "version",
        "updated_at",
    )
    list_filter = ("environment", "kind", "enabled")
    search_fields = ("key", "description")
    readonly_fields = ("version", "created_at", "updated_at")
    actions = ("kill", "revive")
    action_form = ReasonActionForm

    def save_model(self, request: HttpRequest, obj: Flag, form: Any, change: bool) -> None:
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)
        transaction.on_commit(config.forget)

    def _switch(self, request: HttpRequest, queryset: QuerySet[Flag], enabled: bool) -> None:
        done = [
            flag.key
            for flag in queryset
            if services.flag_set_enabled(
                actor=request.user,
                flag=flag,
                enabled=enabled,
                reason=action_reason(request),
                ip=request_ip(request),
            )
        ]
        verb = "back on" if enabled else "off (serving its default)"
        self.message_user(
            request, f"{len(done)} flag(s) {verb}: {', '.join(done) or '-'}.", messages.SUCCESS
        )

    @admin.action(description="Kill switch: serve the default to everyone")
    def kill(self, request: HttpRequest, queryset: QuerySet[Flag]) -> None:
        self._switch(request, queryset, False)

    @admin.action(description="Turn the selected flags back on")
    def revive(self, request: HttpRequest, queryset: QuerySet[Flag]) -> None:
        self._switch(request, queryset, True)


@admin.register(Layer)
class LayerAdmin(AuditedModelAdmin):
    list_display = ("key", "description", "traffic_taken")
    readonly_fields = ("salt", "created_at", "updated_at")
    fields = ("key", "description", "salt", "created_at", "updated_at")

    @admin.display(description="Traffic taken (draft and running)")
    def traffic_taken(self, layer: Layer) -> str:
        taken = sum(
            e.bucket_end - e.bucket_start
            for e in layer.experiments.exclude(status=Experiment.Status.STOPPED)
        )
        return f"{taken * 100 / LAYER_BUCKETS:g} %"


class ExperimentForm(forms.ModelForm):  # type: ignore[type-arg]
    traffic_percent = forms.FloatField(
        min_value=0.01, max_value=100, help_text="Share of the layer's traffic (%)."
    )

    class Meta:
        model = Experiment
        fields = (
            "key",
            "name",
            "hypothesis",
            "environment",
            "layer",
            "traffic_percent",
            "holdout_percent",
            "arms",
            "conditions",
        )
        help_texts = {
            "arms": 'e.g. [{"key": "control", "weight": 50, "values": {}}, '
            '{"key": "v2", "weight": 50, "values": {"feed.ranker": "v2"}}]'
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["traffic_percent"].initial = self.instance.traffic_percent

    def clean(self) -> dict[str, Any]:
        data: dict[str, Any] = super().clean() or {}
        if self.errors:
            return data
        exp = self.instance
        try:
            data["arms"] = services.validate_arms(data.get("arms"), environment=data["environment"])
            data["conditions"] = validate_conditions(
                data.get("conditions") or {}, where="Conditions"
            )
            if not 0 <= data["holdout_percent"] < 100:
                raise RuleError("Holdout must be from 0 to under 100 % of the traffic.")
            size = round(data["traffic_percent"] * LAYER_BUCKETS / 100)
            same = (
                exp.pk
                and exp.layer_id == data["layer"].pk
                and size == exp.bucket_end - exp.bucket_start
            )
            if exp.pk and exp.status == Experiment.Status.RUNNING:
                frozen = {
                    "arms": exp.arms,
                    "conditions": exp.conditions,
                    "holdout_percent": exp.holdout_percent,
                    "environment": exp.environment,
                }
                if not same or any(data[k] != v for k, v in frozen.items()):
                    raise RuleError(
                        f"Experiment {exp.key!r} is running: its allocation (traffic, arms, "
                        "weights, holdout, conditions) cannot change. Stop it, or restart it "
                        "with a new salt."
                    )
            if not same:
                self._slice = services._free_slice(data["layer"], size, exclude_id=exp.pk or None)
        except RuleError as exc:
            raise forms.ValidationError(exc.message) from exc
        return data

    def save(self, commit: bool = True) -> Experiment:
        exp: Experiment = super().save(commit=False)
        if hasattr(self, "_slice"):
            exp.bucket_start, exp.bucket_end = self._slice
        if commit:
            exp.save()
        return exp


@admin.register(Experiment)
class ExperimentAdmin(AuditedModelAdmin):
    form = ExperimentForm
    list_display = ("key", "layer", "status", "traffic", "holdout_percent", "started_at",
                    "results")
    list_filter = ("status", "environment", "layer")
    # Metrics, results and their admins: apps.experiments.results_admin.
    inlines = (ExperimentMetricInline,)
    search_fields = ("key", "name")
    readonly_fields = ("status", "salt", "started_at", "stopped_at", "version", "slice")
    actions = ("start", "stop", "restart")
    action_form = ReasonActionForm

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        # The add page has no metrics inline: an unsaved experiment's id is a database
        # default the inline's query cannot filter on (the page failed with a TypeError).
        # Metrics are chosen once the experiment is saved (it cannot start without one).
        if obj is None:
            return []
        return list(super().get_inline_instances(request, obj))

    @admin.display(description="Traffic")
    def traffic(self, exp: Experiment) -> str:
        return f"{exp.traffic_percent:g} %"

    @admin.display(description="Results")
    def results(self, exp: Experiment) -> str:
        url = reverse("admin:experiments_results", args=[exp.pk])
        return format_html('<a href="{}">Results</a>', url)

    @admin.display(description="Layer buckets")
    def slice(self, exp: Experiment) -> str:
        return f"[{exp.bucket_start}, {exp.bucket_end}) of {LAYER_BUCKETS}"

    def save_model(self, request: HttpRequest, obj: Experiment, form: Any, change: bool) -> None:
        if change:
            obj.version += 1
        super().save_model(request, obj, form, change)
        transaction.on_commit(config.forget)

    def _each(self, request: HttpRequest, queryset: QuerySet[Experiment], verb: str) -> None:
        act = {
            "start": services.experiment_start,
            "stop": services.experiment_stop,
            "restart": services.experiment_restart,
        }[verb]
        for exp in queryset:
            try:
                act(
                    actor=request.user,
                    experiment=exp,
                    reason=action_reason(request),
                    ip=request_ip(request),
                )
            except RuleError as exc:
                self.message_user(request, exc.message, messages.ERROR)
            else:
                self.message_user(request, f"{exp.key}: {verb} done.", messages.SUCCESS)

    @admin.action(description="Start (needs a primary metric)")
    def start(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, "start")

    @admin.action(description="Stop")
    def stop(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, "stop")

    @admin.action(description="Restart with a new salt (earlier assignments stop counting)")
    def restart(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        self._each(request, queryset, "restart")


@admin.register(Assignment)
class AssignmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only: assignments are written by exposures, never by hand."""

    list_display = ("experiment", "unit", "arm", "first_exposed_at")
    list_filter = ("experiment",)
    search_fields = ("=unit",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
