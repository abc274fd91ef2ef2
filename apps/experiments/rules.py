"""Targeting rules: their validation (clear errors for the admin and the services) and their
matching against a viewer. Pure Python, no I/O: the evaluator runs it on every request.

The vocabulary (a flag rule's `when`, an experiment's `conditions`) is documented in
`apps.experiments.models.flags`. Flags that would name safety, minors' or privacy settings
are refused here (`PROTECTED_PREFIXES`): no flag or experiment arm can turn those off, and the
features that read flags apply their safety checks after the flag's value (see docs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

from django.utils.dateparse import parse_datetime

from apps.core.errors import ApplicationError

PLATFORMS: Final = ("ios", "android", "web")
AGE_BANDS: Final = ("13-15", "16-17", "18-24", "25-34", "35+", "unknown")
CONDITIONS: Final = (
    "country",
    "language",
    "platform",
    "app_version",
    "age_band",
    "staff",
    "users",
    "devices",
)
RULE_KEYS: Final = frozenset({"id", "when", "rollout", "start", "end", "value"})
MAX_RULES: Final = 50
MAX_LIST: Final = 10_000  # user or device lists
KEY_RE: Final = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
# Settings no flag may carry: they are enforced by safety, moderation, minors' and privacy
# code that never reads a flag.
PROTECTED_PREFIXES: Final = (
    "safety.",
    "moderation.",
    "minors.",
    "privacy.",
    "accounts.",
    "age.",
    "blocking.",
)
_VERSION_RE: Final = re.compile(r"^\d{1,5}(\.\d{1,5}){0,3}$")


class RuleError(ApplicationError):
    """A flag, rule or experiment definition is invalid; `message` names the place."""

    status_code = 400
    code = "invalid_definition"


def parse_version(value: str) -> tuple[int, ...] | None:
    """'3.2.1' -> (3, 2, 1, 0); None when it is not a dotted version."""
    value = value.strip()
    if not _VERSION_RE.match(value):
        return None
    parts = tuple(int(p) for p in value.split("."))
    return parts + (0,) * (4 - len(parts))


def validate_key(key: object, *, what: str = "Flag key") -> str:
    if not isinstance(key, str) or not 1 <= len(key) <= 100 or not KEY_RE.match(key):
        raise RuleError(
            f"{what}: lower-case dotted name like 'feed.ranker' (letters, digits, _), got {key!r}."
        )
    if key.startswith(PROTECTED_PREFIXES):
        raise RuleError(
            f"{what} {key!r}: flags cannot change safety, moderation, minors' or privacy settings."
        )
    return key


def _string_list(
    name: str,
    value: object,
    *,
    where: str,
    upper: bool = False,
    lower: bool = False,
    choices: tuple[str, ...] = (),
) -> list[str]:
    if not isinstance(value, list) or not value:
        raise RuleError(f"{where}: '{name}' must be a non-empty list.")
    if len(value) > MAX_LIST:
        raise RuleError(f"{where}: '{name}' has more than {MAX_LIST} entries.")
    out: list[str] = []
    for item in value:
        if not isinstance(item, str) or not item.strip() or len(item) > 140:
            raise RuleError(f"{where}: '{name}' entries must be non-empty strings.")
        item = item.strip()
        item = item.upper() if upper else item.lower() if lower else item
        if choices and item not in choices:
            raise RuleError(f"{where}: '{name}' value {item!r} is not one of {', '.join(choices)}.")
        out.append(item)
    return out


def validate_conditions(when: object, *, where: str) -> dict[str, Any]:
    """A `when` object, normalised (countries upper-case, languages lower-case)."""
    if when is None:
        return {}
    if not isinstance(when, dict):
        raise RuleError(f"{where}: 'when' must be an object of conditions.")
    out: dict[str, Any] = {}
    for name, value in when.items():
        if name not in CONDITIONS:
            raise RuleError(
                f"{where}: unknown condition {name!r} (known: {', '.join(CONDITIONS)})."
            )
        if name == "country":
            out[name] = _string_list(name, value, where=where, upper=True)
            if any(len(c) != 2 or not c.isalpha() for c in out[name]):
                raise RuleError(f"{where}: countries are ISO 3166-1 alpha-2 codes ('US').")
        elif name == "language":
            out[name] = _string_list(name, value, where=where, lower=True)
        elif name == "platform":
            out[name] = _string_list(name, value, where=where, lower=True, choices=PLATFORMS)
        elif name == "age_band":
            out[name] = _string_list(name, value, where=where, choices=AGE_BANDS)
        elif name in ("users", "devices"):
            out[name] = _string_list(name, value, where=where)
        elif name == "staff":
            if not isinstance(value, bool):
                raise RuleError(f"{where}: 'staff' must be true or false.")
            out[name] = value
        else:  # app_version
            if not isinstance(value, dict) or not value or set(value) - {"min", "max"}:
                raise RuleError(
                    f'{where}: \'app_version\' is {{"min": "3.2.0", '
                    '"max": "4.0"}} (either end may be left out).'
                )
            bounds = {}
            for end, raw in value.items():
                parsed = parse_version(raw) if isinstance(raw, str) else None
                if parsed is None:
                    raise RuleError(
                        f"{where}: app_version {end} {raw!r} is not a version like '3.2.0'."
                    )
                bounds[end] = raw.strip()
            lo, hi = bounds.get("min"), bounds.get("max")
            if lo and hi and parse_version(lo) > parse_version(hi):  # type: ignore[operator]
                raise RuleError(f"{where}: app_version min {lo} is above max {hi}.")
            out[name] = bounds
    return out


def _parse_time(value: object, *, where: str, name: str) -> str | None:
    if value is None or value == "":
        return None
    parsed = parse_datetime(value) if isinstance(value, str) else None
    if parsed is None or parsed.tzinfo is None:
        raise RuleError(
            f"{where}: '{name}' must be an ISO 8601 time with a zone ('2026-12-06T10:00:00Z')."
        )
    return parsed.isoformat()


def _same_type(value: object, variations: list[Any]) -> bool:
    return any(value == v and type(value) is type(v) for v in variations)


def validate_value(value: object, *, kind: str, variations: list[Any], where: str) -> Any:
    if kind == "boolean":
        if not isinstance(value, bool):
            raise RuleError(
                f"{where}: a boolean flag's value must be true or false, got {value!r}."
            )
        return value
    if variations and not _same_type(value, variations):
        raise RuleError(f"{where}: value {value!r} is not one of the flag's variations.")
    return value


def validate_flag(
    *, key: object, kind: str, default_value: object, variations: object, rules: object
) -> tuple[list[Any], list[dict[str, Any]]]:
    """Check a whole flag; returns (variations, rules) normalised. Raises RuleError."""
    validate_key(key)
    if kind not in ("boolean", "multivariate"):
        raise RuleError(f"Flag kind must be boolean or multivariate, got {kind!r}.")
    if kind == "boolean":
        variations = [False, True]
    if not isinstance(variations, list) or (kind == "multivariate" and len(variations) < 2):
        raise RuleError("A multivariate flag lists at least two variations.")
    validate_value(default_value, kind=kind, variations=variations, where="Default value")
    return variations, validate_rules(rules, kind=kind, variations=variations)


def validate_rules(rules: object, *, kind: str, variations: list[Any]) -> list[dict[str, Any]]:
    if rules is None:
        return []
    if not isinstance(rules, list):
        raise RuleError("Rules must be a list of rule objects.")
    if len(rules) > MAX_RULES:
        raise RuleError(f"At most {MAX_RULES} rules per flag.")
    out: list[dict[str, Any]] = []
    for i, rule in enumerate(rules):
        where = f"Rule {i + 1}"
        if not isinstance(rule, dict):
            raise RuleError(f"{where}: must be an object.")
        if isinstance(rule.get("id"), str) and rule["id"]:
            where = f"Rule {i + 1} ({rule['id'][:40]})"
        unknown = set(rule) - RULE_KEYS
        if unknown:
            raise RuleError(f"{where}: unknown field {sorted(unknown)[0]!r}.")
        if "value" not in rule:
            raise RuleError(f"{where}: 'value' is required.")
        clean: dict[str, Any] = {
            "id": str(rule.get("id") or "")[:64],
            "when": validate_conditions(rule.get("when"), where=where),
            "value": validate_value(rule["value"], kind=kind, variations=variations, where=where),
            "start": _parse_time(rule.get("start"), where=where, name="start"),
            "end": _parse_time(rule.get("end"), where=where, name="end"),
        }
        if clean["start"] and clean["end"] and clean["start"] >= clean["end"]:
            raise RuleError(f"{where}: the schedule ends before it starts.")
        rollout = rule.get("rollout")
        if rollout is not None:
            if not isinstance(rollout, dict) or set(rollout) - {"percent", "salt"}:
                raise RuleError(f'{where}: \'rollout\' is {{"percent": 25, "salt": ".."}}.')
            percent = rollout.get("percent")
            if (
                isinstance(percent, bool)
                or not isinstance(percent, int | float)
                or not 0 <= percent <= 100
            ):
                raise RuleError(f"{where}: rollout percent must be a number from 0 to 100.")
            salt = rollout.get("salt") or f"rollout-{i}"
            if not isinstance(salt, str) or len(salt) > 32:
                raise RuleError(f"{where}: rollout salt must be a string of up to 32 characters.")
            clean["rollout"] = {"percent": float(percent), "salt": salt}
        out.append(clean)
    return out


# --- matching ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """Who is evaluated: the signed-in user, else the device (a visitor)."""

    user_id: int | None = None
    device_id: str = ""
    is_staff: bool = False
    country: str = ""
    language: str = ""
    platform: str = ""
    app_version: str = ""
    age_band: str = "unknown"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """The bucketing unit: "u:<id>" for a signed-in user (the same arm on every device),
        else "d:<device id>"; "" when neither is known (no experiment, no rollout)."""
        if self.user_id is not None:
            return f"u:{self.user_id}"
        return f"d:{self.device_id}" if self.device_id else ""

    @property
    def device_key(self) -> str:
        return f"d:{self.device_id}" if self.device_id else ""


def conditions_match(when: dict[str, Any], unit: Unit) -> bool:
    for name, wanted in when.items():
        if name == "country":
            if unit.country.upper() not in wanted:
                return False
        elif name == "language":
            if unit.language.split("-")[0].lower() not in wanted:
                return False
        elif name == "platform":
            if unit.platform not in wanted:
                return False
        elif name == "age_band":
            if unit.age_band not in wanted:
                return False
        elif name == "staff":
            if unit.is_staff != wanted:
                return False
        elif name == "users":
            if unit.user_id is None or str(unit.user_id) not in wanted:
                return False
        elif name == "devices":
            if not unit.device_id or unit.device_id not in wanted:
                return False
        elif name == "app_version":
            have = parse_version(unit.app_version) if unit.app_version else None
            if have is None:
                return False
            lo, hi = wanted.get("min"), wanted.get("max")
            if lo and have < parse_version(lo):  # type: ignore[operator]
                return False
            if hi and have > parse_version(hi):  # type: ignore[operator]
                return False
    return True


def schedule_open(rule: dict[str, Any], now: datetime) -> bool:
    start, end = rule.get("start_at"), rule.get("end_at")
    return (start is None or now >= start) and (end is None or now < end)
