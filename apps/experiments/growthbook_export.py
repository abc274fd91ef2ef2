"""The configuration as a GrowthBook feature document (the `features` of its SDK payload).

Used by bench/experiments.py (`--flag-cost`) to measure GrowthBook's Python SDK evaluating
the same flags as our evaluator, which decided the choice (docs: "Flags and experiments").
It is also a way out: a GrowthBook JS or mobile SDK could evaluate this document.

Mapping: a running experiment is an experiment rule (seed = our salt, namespace = the
layer's slice, the holdout as an extra variation carrying the flag's rules' default); a flag
rule is a force rule with a Mongo-style condition and, for a rollout, coverage and seed.
Rule schedules are resolved at export time (GrowthBook's SDK has none). Bucketing differs
(GrowthBook hashes with FNV-1a): the same unit may fall elsewhere, the shares are the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from apps.experiments.config import CompiledFlag, Snapshot
from apps.experiments.models.experiments import LAYER_BUCKETS


def _condition(when: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, wanted in when.items():
        if name == "users":
            out["userId"] = {"$in": wanted}
        elif name == "devices":
            out["deviceId"] = {"$in": wanted}
        elif name == "staff":
            out["staff"] = wanted
        elif name == "app_version":
            version: dict[str, str] = {}
            if "min" in wanted:
                version["$vgte"] = wanted["min"]
            if "max" in wanted:
                version["$vlte"] = wanted["max"]
            out["appVersion"] = version
        else:
            out[{"age_band": "ageBand"}.get(name, name)] = {"$in": wanted}
    return out


def _feature(flag: CompiledFlag, snap: Snapshot, now: datetime) -> dict[str, Any]:
    rules: list[dict[str, Any]] = []
    if flag.enabled:
        for exp in snap.by_flag.get(flag.key, ()):
            values = [arm.values.get(flag.key, flag.default) for arm in exp.arms]
            weights = [arm.weight for arm in exp.arms]
            total = sum(weights)
            weights = [w / total * (1 - exp.holdout) for w in weights]
            if exp.holdout:
                values.append(flag.default)
                weights.append(exp.holdout)
            rule: dict[str, Any] = {
                "key": exp.key,
                "variations": values,
                "weights": weights,
                "coverage": 1.0,
                "hashAttribute": "id",
                "seed": exp.salt,
                "hashVersion": 2,
                "namespace": [
                    str(exp.layer_id),
                    exp.bucket_start / LAYER_BUCKETS,
                    exp.bucket_end / LAYER_BUCKETS,
                ],
            }
            if exp.conditions:
                rule["condition"] = _condition(exp.conditions)
            rules.append(rule)
        for r in flag.rules:
            if (r.start_at and now < r.start_at) or (r.end_at and now >= r.end_at):
                continue
            force: dict[str, Any] = {"force": r.value}
            if r.when:
                force["condition"] = _condition(r.when)
            if r.rollout is not None:
                force.update(
                    coverage=r.rollout[0] / 100,
                    hashAttribute="id",
                    seed=f"{flag.key}:{r.rollout[1]}",
                    hashVersion=2,
                )
            rules.append(force)
    return {"defaultValue": flag.default, "rules": rules}


def features_document(snap: Snapshot, *, now: datetime) -> dict[str, Any]:
    return {key: _feature(flag, snap, now) for key, flag in snap.flags.items()}


def attributes(unit: Any) -> dict[str, Any]:
    """A unit (apps.experiments.rules.Unit) as GrowthBook attributes."""
    return {
        "id": unit.key,
        "userId": str(unit.user_id or ""),
        "deviceId": unit.device_id,
        "staff": unit.is_staff,
        "country": unit.country,
        "language": unit.language,
        "platform": unit.platform,
        "appVersion": unit.app_version,
        "ageBand": unit.age_band,
    }
