"""The evaluators' view of the configuration: every flag of this environment and every running
experiment, compiled once into plain Python objects and kept per process.

A process re-reads the tables when they changed: every `CHECK_EVERY` seconds one query asks
for the tables' change stamp (latest `updated_at` and row count of each), and only a changed
stamp reloads. The services call `forget()` after a change so the process that made it sees
it at once; other processes see it within CHECK_EVERY seconds.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import connection
from django.utils.dateparse import parse_datetime

from apps.experiments.models import Experiment, Flag, Layer

CHECK_EVERY = 2.0


@dataclass(frozen=True)
class CompiledRule:
    when: dict[str, Any]
    value: Any
    rollout: tuple[float, str] | None  # (percent, salt)
    start_at: datetime | None
    end_at: datetime | None


@dataclass(frozen=True)
class CompiledFlag:
    key: str
    kind: str
    default: Any
    enabled: bool
    client_visible: bool
    rules: tuple[CompiledRule, ...]


@dataclass(frozen=True)
class CompiledArm:
    key: str
    weight: float
    values: dict[str, Any]


@dataclass(frozen=True)
class CompiledExperiment:
    id: int
    key: str
    layer_id: int
    layer_salt: str
    salt: str
    bucket_start: int
    bucket_end: int
    holdout: float  # fraction 0..1
    arms: tuple[CompiledArm, ...]
    conditions: dict[str, Any]
    flags: frozenset[str]  # the flag keys its arms set


@dataclass
class Snapshot:
    stamp: str
    flags: dict[str, CompiledFlag] = field(default_factory=dict)
    experiments: dict[str, CompiledExperiment] = field(default_factory=dict)
    # flag key -> running experiments whose arms set it
    by_flag: dict[str, list[CompiledExperiment]] = field(default_factory=dict)
    # layer id -> its running experiments
    by_layer: dict[int, list[CompiledExperiment]] = field(default_factory=dict)
    # a digest of everything clients can see (part of the flags endpoint's ETag)
    digest: str = ""


def environment() -> str:
    return str(settings.SWIPEME_FLAGS_ENVIRONMENT)


def _time(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def compile_flag(flag: Flag) -> CompiledFlag:
    rules = []
    for rule in flag.rules or []:
        rollout = rule.get("rollout")
        rules.append(
            CompiledRule(
                when=rule.get("when") or {},
                value=rule.get("value"),
                rollout=(float(rollout["percent"]), str(rollout["salt"])) if rollout else None,
                start_at=_time(rule.get("start")),
                end_at=_time(rule.get("end")),
            )
        )
    return CompiledFlag(
        key=flag.key,
        kind=flag.kind,
        default=flag.default_value,
        enabled=flag.enabled,
        client_visible=flag.client_visible,
        rules=tuple(rules),
    )


def compile_experiment(exp: Experiment, layer: Layer) -> CompiledExperiment:
    arms = tuple(
        CompiledArm(
            key=str(a["key"]), weight=float(a["weight"]), values=dict(a.get("values") or {})
        )
        for a in exp.arms
    )
    return CompiledExperiment(
        id=int(exp.pk),
        key=exp.key,
        layer_id=int(layer.pk),
        layer_salt=layer.salt,
        salt=exp.salt,
        bucket_start=exp.bucket_start,
        bucket_end=exp.bucket_end,
        holdout=exp.holdout_percent / 100.0,
        arms=arms,
        conditions=exp.conditions or {},
        flags=frozenset(k for a in arms for k in a.values),
    )


_STAMP_SQL = """
SELECT (SELECT concat(count(*), '/', max(updated_at)) FROM experiments_flag),
       (SELECT concat(count(*), '/', max(updated_at)) FROM experiments_experiment),
       (SELECT concat(count(*), '/', max(updated_at)) FROM experiments_layer)
"""


def _read_stamp() -> str:
    with connection.cursor() as cursor:
        cursor.execute(_STAMP_SQL)
        row = cursor.fetchone()
    return "|".join(str(v) for v in row) + "|" + environment()


def load(stamp: str) -> Snapshot:
    env = environment()
    snap = Snapshot(stamp=stamp)
    for flag in Flag.objects.filter(environment=env):
        snap.flags[flag.key] = compile_flag(flag)
    running = (
        Experiment.objects.filter(environment=env, status=Experiment.Status.RUNNING)
        .select_related("layer")
        .order_by("id")
    )
    for exp in running:
        compiled = compile_experiment(exp, exp.layer)
        snap.experiments[compiled.key] = compiled
        snap.by_layer.setdefault(compiled.layer_id, []).append(compiled)
        for key in compiled.flags:
            snap.by_flag.setdefault(key, []).append(compiled)
    visible = {
        k: [f.default, f.enabled, [r.__dict__ for r in f.rules]]
        for k, f in snap.flags.items()
        if f.client_visible
    }
    exps = {
        k: [
            e.salt,
            e.bucket_start,
            e.bucket_end,
            e.holdout,
            [a.__dict__ for a in e.arms],
            e.conditions,
            e.layer_salt,
        ]
        for k, e in snap.experiments.items()
    }
    snap.digest = hashlib.blake2b(
        json.dumps([visible, exps], sort_keys=True, default=str).encode(), digest_size=12
    ).hexdigest()
    return snap


_lock = threading.Lock()
_snapshot: Snapshot | None = None
_checked_at = 0.0


def current() -> Snapshot:
    """The compiled configuration (checked for changes at most every CHECK_EVERY s)."""
    global _snapshot, _checked_at
    snap = _snapshot
    if snap is not None and time.monotonic() - _checked_at < CHECK_EVERY:
        return snap
    with _lock:
        if _snapshot is not None and time.monotonic() - _checked_at < CHECK_EVERY:
            return _snapshot
        stamp = _read_stamp()
        if _snapshot is None or _snapshot.stamp != stamp:
            _snapshot = load(stamp)
        _checked_at = time.monotonic()
        return _snapshot


def forget() -> None:
    """Drop this process's snapshot (after a change, and between tests)."""
    global _snapshot, _checked_at
    with _lock:
        _snapshot, _checked_at = None, 0.0
