"""Layers and experiments: creation, the layer's slices (never above 100 %, under the layer's
row lock), arms' validation, start (needs a primary metric), stop, restart with a new salt;
a running experiment's allocation is frozen. Every change audited."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.audit import Actor, record_audit
from apps.experiments.models import Experiment, ExperimentMetric, Flag, Layer
from apps.experiments.models.experiments import HOLDOUT_ARM, LAYER_BUCKETS, new_salt
from apps.experiments.rules import (
    RuleError,
    validate_conditions,
    validate_key,
    validate_value,
)
from apps.experiments.services.common import ARM_KEY_RE, reload_after_commit


def layer_create(
    *, actor: Actor, key: str, description: str = "", reason: str = "", ip: str | None = None
) -> Layer:
    if not isinstance(key, str) or not ARM_KEY_RE.match(key):
        raise RuleError(f"Layer key: lower-case letters, digits, - and _, got {key!r}.")
    with transaction.atomic():
        if Layer.objects.filter(key=key).exists():
            raise RuleError(f"A layer {key!r} exists already.")
        layer = Layer.objects.create(key=key, description=description[:500])
        record_audit(
            actor=actor, action="experiments.layer_create", target=layer, reason=reason, ip=ip
        )
        reload_after_commit()
    return layer


def validate_arms(arms: object, *, environment: str) -> list[dict[str, Any]]:
    """Arms: [{"key", "weight" > 0, "values": {flag key: a variation of that flag}}], >= 2."""
    if not isinstance(arms, list) or len(arms) < 2:
        raise RuleError("An experiment has at least two arms (e.g. control and treatment).")
    if len(arms) > 20:
        raise RuleError("At most 20 arms.")
    flag_keys = {
        k
        for arm in arms
        if isinstance(arm, dict)
        for k in (arm.get("values") or {})
        if isinstance(k, str)
    }
    flags = {f.key: f for f in Flag.objects.filter(environment=environment, key__in=flag_keys)}
    seen: set[str] = set()
    out: list[dict[str, Any]] = []
    for i, arm in enumerate(arms):
        where = f"Arm {i + 1}"
        if not isinstance(arm, dict) or set(arm) - {"key", "weight", "values"}:
            raise RuleError(f"{where}: an object with key, weight and values.")
        key = arm.get("key")
        if not isinstance(key, str) or not ARM_KEY_RE.match(key) or key == HOLDOUT_ARM:
            raise RuleError(
                f"{where}: key must be lower-case letters, digits, - or _ (and "
                f"not '{HOLDOUT_ARM}'), got {key!r}."
            )
        if key in seen:
            raise RuleError(f"{where}: two arms are called {key!r}.")
        seen.add(key)
        weight = arm.get("weight")
        if isinstance(weight, bool) or not isinstance(weight, int | float) or weight <= 0:
            raise RuleError(f"Arm {key!r}: weight must be a positive number.")
        values = arm.get("values") or {}
        if not isinstance(values, dict):
            raise RuleError(f"Arm {key!r}: values is an object of flag key to value.")
        for flag_key, value in values.items():
            validate_key(flag_key, what=f"Arm {key!r}: flag")
            flag = flags.get(flag_key)
            if flag is None:
                raise RuleError(
                    f"Arm {key!r}: no flag {flag_key!r} in {environment}; create the flag first."
                )
            validate_value(
                value,
                kind=flag.kind,
                variations=flag.variations,
                where=f"Arm {key!r}, flag {flag_key!r}",
            )
        out.append({"key": key, "weight": float(weight), "values": dict(values)})
    if not any(arm["values"] for arm in out):
        raise RuleError("No arm sets any flag: the experiment would change nothing.")
    return out


def _free_slice(layer: Layer, size: int, *, exclude_id: int | None) -> tuple[int, int]:
    """A free run of `size` buckets in the layer. Takes the layer's row lock first (callers
    are inside their transaction): two staff placing experiments in one layer at once are
    served one after the other, so the layer never goes above 100 %."""
    Layer.objects.select_for_update().filter(pk=layer.pk).values_list("pk").first()
    others = Experiment.objects.filter(layer=layer).exclude(status=Experiment.Status.STOPPED)
    if exclude_id is not None:
        others = others.exclude(pk=exclude_id)
    taken = sorted(others.values_list("bucket_start", "bucket_end"))
    free = LAYER_BUCKETS - sum(end - start for start, end in taken)
    position = largest = 0
    for start, end in [*taken, (LAYER_BUCKETS, LAYER_BUCKETS)]:
        if start - position >= size:
            return position, position + size
        largest = max(largest, start - position)
        position = max(position, end)
    pieces = "" if largest == free else \
        f" (the largest free slice is {largest * 100 / LAYER_BUCKETS:g} %)"
    raise RuleError(
        f"Layer {layer.key!r} has {free * 100 / LAYER_BUCKETS:g} % of its traffic free"
        f"{pieces}; this experiment asks for {size * 100 / LAYER_BUCKETS:g} %. "
        "Stop another experiment of the layer or ask for less."
    )


def _traffic_buckets(traffic_percent: object) -> int:
    if (
        isinstance(traffic_percent, bool)
        or not isinstance(traffic_percent, int | float)
        or not 0 < traffic_percent <= 100
    ):
        raise RuleError(
            f"Traffic must be above 0 and at most 100 % of the layer, got {traffic_percent!r}."
        )
    return round(traffic_percent * LAYER_BUCKETS / 100)


def _holdout(holdout_percent: object) -> float:
    if (
        isinstance(holdout_percent, bool)
        or not isinstance(holdout_percent, int | float)
        or not 0 <= holdout_percent < 100
    ):
        raise RuleError("Holdout must be from 0 to under 100 % of the experiment's traffic.")
    return float(holdout_percent)


def experiment_create(
    *,
    actor: Actor,
    key: str,
    layer: Layer,
    arms: list[Any],
    traffic_percent: float,
    holdout_percent: float = 0.0,
    conditions: dict[str, Any] | None = None,
    environment: str = "production",
    name: str = "",
    hypothesis: str = "",
    reason: str = "",
    ip: str | None = None,
) -> Experiment:
    if not isinstance(key, str) or not ARM_KEY_RE.match(key):
        raise RuleError(f"Experiment key: lower-case letters, digits, - and _, got {key!r}.")
    if environment not in ("dev", "production"):
        raise RuleError("Environment must be dev or production.")
    clean_arms = validate_arms(arms, environment=environment)
    clean_conditions = validate_conditions(conditions, where="Conditions")
    size = _traffic_buckets(traffic_percent)
    holdout = _holdout(holdout_percent)
    with transaction.atomic():
        if Experiment.objects.filter(key=key).exists():
            raise RuleError(f"An experiment {key!r} exists already.")
        start, end = _free_slice(layer, size, exclude_id=None)
        exp = Experiment.objects.create(
            key=key,
            layer=layer,
            arms=clean_arms,
            bucket_start=start,
            bucket_end=end,
            holdout_percent=holdout,
            conditions=clean_conditions,
            environment=environment,
            name=name[:200],
            hypothesis=hypothesis,
        )
        record_audit(
            actor=actor,
            action="experiments.experiment_create",
            target=exp,
            reason=reason,
            ip=ip,
            traffic_percent=exp.traffic_percent,
            arms=clean_arms,
            holdout_percent=holdout,
        )
        reload_after_commit()
    return exp


def experiment_update(
    *,
    actor: Actor,
    experiment: Experiment,
    reason: str = "",
    ip: str | None = None,
    arms: list[Any] | None = None,
    traffic_percent: float | None = None,
    holdout_percent: float | None = None,
    conditions: dict[str, Any] | None = None,
    name: str | None = None,
    hypothesis: str | None = None,
) -> Experiment:
    """Change a draft's allocation, or any experiment's name and hypothesis."""
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = name[:200]
    if hypothesis is not None:
        changes["hypothesis"] = hypothesis
    allocation: dict[str, Any] = {}
    if arms is not None:
        allocation["arms"] = validate_arms(arms, environment=experiment.environment)
    if holdout_percent is not None:
        allocation["holdout_percent"] = _holdout(holdout_percent)
    if conditions is not None:
        allocation["conditions"] = validate_conditions(conditions, where="Conditions")
    with transaction.atomic():
        exp = Experiment.objects.get(pk=experiment.pk)
        if traffic_percent is not None:
            size = _traffic_buckets(traffic_percent)
            if size != exp.bucket_end - exp.bucket_start:
                allocation["bucket_start"], allocation["bucket_end"] = _free_slice(
                    exp.layer, size, exclude_id=exp.pk
                )
        allocation = {k: v for k, v in allocation.items() if getattr(exp, k) != v}
        if allocation and exp.status == Experiment.Status.RUNNING:
            raise RuleError(
                f"Experiment {exp.key!r} is running: its allocation (traffic, arms, weights, "
                "holdout, conditions) cannot change. Stop it, or restart it with a new salt."
            )
        changes.update(allocation)
        changes = {k: v for k, v in changes.items() if getattr(exp, k) != v}
        if not changes:
            return exp
        for field, value in changes.items():
            setattr(exp, field, value)
        exp.version += 1
        exp.save(update_fields=[*changes, "version", "updated_at"])
        record_audit(
            actor=actor,
            action="experiments.experiment_update",
            target=exp,
            reason=reason,
            ip=ip,
            changed=changes,
        )
        reload_after_commit()
    return exp


def has_primary_metric(experiment: Experiment) -> bool:
    return ExperimentMetric.objects.filter(
        experiment=experiment, role=ExperimentMetric.Role.PRIMARY
    ).exists()


def experiment_start(
    *, actor: Actor, experiment: Experiment, reason: str = "", ip: str | None = None
) -> Experiment:
    with transaction.atomic():
        exp = Experiment.objects.select_related("layer").get(pk=experiment.pk)
        if exp.status == Experiment.Status.RUNNING:
            return exp
        if exp.status == Experiment.Status.STOPPED:
            raise RuleError(
                f"Experiment {exp.key!r} was stopped; restart it (a new salt) "
                "rather than start it again."
            )
        if not has_primary_metric(exp):
            raise RuleError(
                f"Experiment {exp.key!r} has no primary metric: choose one before starting it."
            )
        validate_arms(exp.arms, environment=exp.environment)
        exp.status = Experiment.Status.RUNNING
        exp.started_at = timezone.now()
        exp.version += 1
        exp.save(update_fields=["status", "started_at", "version", "updated_at"])
        record_audit(
            actor=actor,
            action="experiments.experiment_start",
            target=exp,
            reason=reason,
            ip=ip,
            salt=exp.salt,
        )
        reload_after_commit()
    return exp


def experiment_stop(
    *, actor: Actor, experiment: Experiment, reason: str = "", ip: str | None = None
) -> Experiment:
    with transaction.atomic():
        exp = Experiment.objects.get(pk=experiment.pk)
        if exp.status != Experiment.Status.RUNNING:
            raise RuleError(f"Experiment {exp.key!r} is not running.")
        exp.status = Experiment.Status.STOPPED
        exp.stopped_at = timezone.now()
        exp.version += 1
        exp.save(update_fields=["status", "stopped_at", "version", "updated_at"])
        record_audit(
            actor=actor, action="experiments.experiment_stop", target=exp, reason=reason, ip=ip
        )
        reload_after_commit()
    return exp


def experiment_restart(
    *,
    actor: Actor,
    experiment: Experiment,
    reason: str = "",
    ip: str | None = None,
    arms: list[Any] | None = None,
    traffic_percent: float | None = None,
    holdout_percent: float | None = None,
) -> Experiment:
    """Start again with a new salt (and optionally a new allocation): assignments made under
    the old salt no longer count, so results start afresh."""
    with transaction.atomic():
        exp = Experiment.objects.select_related("layer").get(pk=experiment.pk)
        if not has_primary_metric(exp):
            raise RuleError(
                f"Experiment {exp.key!r} has no primary metric: choose one before starting it."
            )
        old_salt = exp.salt
        if arms is not None:
            exp.arms = validate_arms(arms, environment=exp.environment)
        if holdout_percent is not None:
            exp.holdout_percent = _holdout(holdout_percent)
        size = (
            _traffic_buckets(traffic_percent)
            if traffic_percent is not None
            else exp.bucket_end - exp.bucket_start
        )
        exp.bucket_start, exp.bucket_end = _free_slice(exp.layer, size, exclude_id=exp.pk)
        exp.salt = new_salt()
        exp.status = Experiment.Status.RUNNING
        exp.started_at = timezone.now()
        exp.stopped_at = None
        exp.version += 1
        exp.save()
        record_audit(
            actor=actor,
            action="experiments.experiment_restart",
            target=exp,
            reason=reason,
            ip=ip,
            old_salt=old_salt,
            salt=exp.salt,
            traffic_percent=exp.traffic_percent,
            arms=exp.arms,
            holdout_percent=exp.holdout_percent,
        )
        reload_after_commit()
    return exp
