"""Flags: create or update (validated, audited with the diff), the kill switch, and the check
that a change keeps every live experiment's arms valid (`check_flag_edit`, also the admin's)."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.core.audit import Actor, record_audit
from apps.experiments.models import Experiment, Flag
from apps.experiments.rules import RuleError, validate_flag, validate_value
from apps.experiments.services.common import reload_after_commit

# --- flags -----------------------------------------------------------------------------------


def flag_save(
    *,
    actor: Actor,
    key: str,
    environment: str = "production",
    kind: str = "boolean",
    default_value: Any = False,
    variations: list[Any] | None = None,
    rules: list[Any] | None = None,
    enabled: bool = True,
    description: str = "",
    client_visible: bool = True,
    reason: str = "",
    ip: str | None = None,
) -> Flag:
    """Create the flag of this key and environment, or update it; audited with the diff."""
    if environment not in ("dev", "production"):
        raise RuleError("Environment must be dev or production.")
    clean_variations, clean_rules = validate_flag(
        key=key,
        kind=kind,
        default_value=default_value,
        variations=variations or [],
        rules=rules or [],
    )
    values = {
        "kind": kind,
        "default_value": default_value,
        "variations": clean_variations,
        "rules": clean_rules,
        "enabled": enabled,
        "description": description[:500],
        "client_visible": client_visible,
    }
    with transaction.atomic():
        flag = Flag.objects.filter(key=key, environment=environment).first()
        if flag is None:
            flag = Flag.objects.create(key=key, environment=environment, **values)
            record_audit(
                actor=actor,
                action="experiments.flag_create",
                target=flag,
                reason=reason,
                ip=ip,
                values=values,
            )
        else:
            diff = {name: value for name, value in values.items() if getattr(flag, name) != value}
            if not diff:
                return flag
            check_flag_edit(
                flag, key=key, environment=environment, kind=kind, variations=clean_variations
            )
            for name, value in diff.items():
                setattr(flag, name, value)
            flag.version += 1
            flag.save(update_fields=[*diff, "version", "updated_at"])
            record_audit(
                actor=actor,
                action="experiments.flag_update",
                target=flag,
                reason=reason,
                ip=ip,
                changed=diff,
            )
        reload_after_commit()
    return flag


def check_flag_edit(
    flag: Flag, *, key: str, environment: str, kind: str, variations: list[Any]
) -> None:
    """Refuse a change to a stored flag that would break an experiment (draft or running)
    whose arms set it: its key, environment or kind cannot change, and its new variations
    must still hold every arm's value. `flag_save` and the admin's flag form both call it."""
    uses = [
        (exp.key, arm["key"], arm["values"][flag.key])
        for exp in Experiment.objects.exclude(status=Experiment.Status.STOPPED).filter(
            environment=flag.environment
        )
        for arm in exp.arms
        if flag.key in (arm.get("values") or {})
    ]
    if not uses:
        return
    exp_key = uses[0][0]
    if (key, environment) != (flag.key, flag.environment):
        raise RuleError(
            f"Flag {flag.key!r} is set by experiment {exp_key!r}: its key and environment "
            "cannot change while the experiment exists."
        )
    if kind != flag.kind:
        raise RuleError(
            f"Flag {flag.key!r} is set by experiment {exp_key!r}: its kind "
            "cannot change while the experiment exists."
        )
    for exp_key, arm_key, value in uses:
        validate_value(
            value,
            kind=kind,
            variations=variations,
            where=f"Experiment {exp_key!r}, arm {arm_key!r}, flag {flag.key!r}",
        )


def flag_set_enabled(
    *, actor: Actor, flag: Flag, enabled: bool, reason: str = "", ip: str | None = None
) -> bool:
    """The kill switch. False when the flag already was in that state (nothing recorded)."""
    with transaction.atomic():
        changed = Flag.objects.filter(pk=flag.pk, enabled=not enabled).update(
            enabled=enabled, version=flag.version + 1, updated_at=timezone.now()
        )
        if not changed:
            return False
        flag.refresh_from_db()
        record_audit(
            actor=actor,
            action="experiments.flag_enable" if enabled else "experiments.flag_kill",
            target=flag,
            reason=reason,
            ip=ip,
        )
        reload_after_commit()
    return True
