"""Evaluating flags and experiments for one viewer: THE accessor other apps call.

    from apps.experiments import evaluation as experiments

    ev = experiments.for_request(request)            # or experiments.for_user(user, ...)
    load = ev.value("ads.load", default=7)            # logs the exposure, if an arm set it
    experiments.value("feed.ranker", viewer, default="active")   # one-off form

Order for a flag (first that applies wins):
1. unknown flag (not defined in this environment): the caller's `default`;
2. kill switch off: the flag's default value (experiments included: killing a flag stops
   every arm from changing it);
3. a running experiment that sets this flag and has the unit in one of its arms: the arm's
   value, and an exposure (once per unit, experiment and day);
4. the flag's rules in order (conditions, schedule, percentage rollout);
5. the flag's default value.

Units: a signed-in user ("u:<id>") keeps the same arm on every device; a visitor is their
device ("d:<id>"). Assignments are sticky: an exposed unit's arm is stored
(`Assignment`), and a visitor who signs in keeps the arm their device had. Experiments in one
layer are exclusive: a unit belongs to at most one of a layer's experiments.

Safety: flags cannot name safety, moderation, minors' or privacy settings (rules.validate_key
refuses them), and the features that read flags run their safety checks after them (the
feed's gate and hydrate run after any ranker an arm chose).
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone

from apps.events import devices
from apps.experiments import bucketing, config
from apps.experiments.models import Assignment
from apps.experiments.models.experiments import HOLDOUT_ARM
from apps.experiments.rules import Unit, conditions_match

logger = logging.getLogger(__name__)

__all__ = ["Evaluation", "Unit", "assign", "for_request", "for_user", "unit_for", "value"]


def age_band(born: date | None, today: date) -> str:
    if born is None:
        return "unknown"
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    if age < 16:
        return "13-15"
    if age < 18:
        return "16-17"
    if age < 25:
        return "18-24"
    if age < 35:
        return "25-34"
    return "35+"


def unit_for(
    user: Any,
    *,
    device_id: str = "",
    platform: str = "",
    app_version: str = "",
    country: str = "",
    language: str = "",
) -> Unit:
    """The unit for a user (or None / an anonymous user) on a device."""
    signed_in = user is not None and getattr(user, "is_authenticated", False)
    if signed_in:
        return Unit(
            user_id=int(user.pk),
            device_id=device_id[:128],
            is_staff=bool(user.is_staff),
            country=(user.country or country or "").upper(),
            language=(user.language or language or "").lower(),
            platform=platform,
            app_version=app_version,
            age_band=age_band(user.date_of_birth, timezone.localdate()),
        )
    return Unit(
        device_id=device_id[:128],
        country=country.upper(),
        language=language.lower(),
        platform=platform,
        app_version=app_version,
    )


def request_unit(request: HttpRequest) -> Unit:
    """The caller of a request: its user, the X-Device-Id header (or the web's device cookie;
    apps.events.devices validates it, as the events API that stamps it on client events),
    X-Client-Platform and X-App-Version (the mobile clients' headers; the web is "web")."""
    headers = request.headers
    device = devices.request_device_id(request) or ""
    platform = (headers.get("X-Client-Platform") or "web").strip().lower()
    if platform not in ("ios", "android", "web"):
        platform = "web"
    language = (headers.get("Accept-Language") or "").split(",")[0].split(";")[0].strip()
    return unit_for(
        getattr(request, "user", None),
        device_id=device,
        platform=platform,
        app_version=(headers.get("X-App-Version") or "").strip()[:32],
        language=language.split("-")[0][:16],
    )


class Evaluation:
    """Flag values for one unit within one request (memoised; exposures logged once)."""

    def __init__(
        self,
        unit: Unit,
        *,
        snapshot: config.Snapshot | None = None,
        now: datetime | None = None,
        log_exposures: bool = True,
    ) -> None:
        self.unit = unit
        self.snapshot = snapshot or config.current()
        self.now = now or timezone.now()
        self.log_exposures = log_exposures
        self._values: dict[str, tuple[Any, tuple[config.CompiledExperiment, str] | None]] = {}
        self._stored: dict[int, str] | None = None  # experiment id -> stored arm
        self._stored_device: dict[int, str] = {}
        self._layer_pick: dict[int, tuple[config.CompiledExperiment | None, str | None]] = {}
        self.exposed: dict[str, str] = {}  # experiment key -> arm (this evaluation)

    # -- the accessor -----------------------------------------------------------------------

    def value(self, key: str, default: Any = None) -> Any:
        """The flag's value for this unit; an exposure is logged when an arm decided it."""
        decided = self._values.get(key)
        if decided is None:
            flag = self.snapshot.flags.get(key)
            if flag is None:
                return default
            decided = self._values[key] = self._decide(key, flag)
        result, source = decided
        if source is not None:
            self._expose(*source)
        return result

    def peek(self, key: str, default: Any = None) -> tuple[Any, str | None, str | None]:
        """(value, experiment key, arm) without logging an exposure (the flags endpoint:
        the client logs the exposure when it uses the value)."""
        decided = self._values.get(key)
        if decided is None:
            flag = self.snapshot.flags.get(key)
            if flag is None:
                return default, None, None
            decided = self._values[key] = self._decide(key, flag)
        result, source = decided
        if source is None:
            return result, None, None
        return result, source[0].key, source[1]

    def client_values(self) -> dict[str, dict[str, Any]]:
        """Every client-visible flag: {key: {"value": ..., "experiment": key or None}}."""
        out: dict[str, dict[str, Any]] = {}
        for key, flag in sorted(self.snapshot.flags.items()):
            if not flag.client_visible:
                continue
            result, exp_key, _arm = self.peek(key)
            out[key] = {"value": result, "experiment": exp_key}
        return out

    def arm(self, experiment_key: str, *, expose: bool = True) -> str | None:
        """The unit's arm in a running experiment (None when not in it); `expose` logs it."""
        exp = self.snapshot.experiments.get(experiment_key)
        if exp is None:
            return None
        chosen = self._arm_in(exp)
        if chosen is not None and expose:
            self._expose(exp, chosen)
        return chosen

    # -- internals --------------------------------------------------------------------------

    def _decide(
        self, key: str, flag: config.CompiledFlag
    ) -> tuple[Any, tuple[config.CompiledExperiment, str] | None]:
        if not flag.enabled:
            return flag.default, None
        for exp in self.snapshot.by_flag.get(key, ()):
            chosen = self._arm_in(exp)
            if chosen is None:
                continue
            for arm in exp.arms:
                if arm.key == chosen and key in arm.values:
                    return arm.values[key], (exp, chosen)
            # The holdout, or an arm that leaves this flag alone (a control): the flag as if
            # no experiment ran, but the unit was exposed to the experiment all the same.
            return self._rules(flag), (exp, chosen)
        return self._rules(flag), None

    def _rules(self, flag: config.CompiledFlag) -> Any:
        unit = self.unit
        for rule in flag.rules:
            if rule.start_at is not None and self.now < rule.start_at:
                continue
            if rule.end_at is not None and self.now >= rule.end_at:
                continue
            if rule.when and not conditions_match(rule.when, unit):
                continue
            if rule.rollout is not None:
                percent, salt = rule.rollout
                if not unit.key or not bucketing.in_rollout(
                    f"{flag.key}:{salt}", unit.key, percent
                ):
                    continue
            return rule.value
        return flag.default

    def _load_stored(self) -> dict[int, str]:
        """The unit's stored (sticky) arms in running experiments: one query, on first need."""
        if self._stored is None:
            self._stored = {}
            # A visitor's stored arm is always its hashed arm (devices never adopt another
            # unit's arm, and a running allocation is frozen): only a signed-in user's row
            # can differ (adopted from a device), so only then is the query worth its cost.
            if self.unit.user_id is None:
                return self._stored
            keys = [k for k in (self.unit.key, self.unit.device_key) if k]
            ids = [e.id for e in self.snapshot.experiments.values()]
            if keys and ids:
                salts = {e.id: e.salt for e in self.snapshot.experiments.values()}
                rows = Assignment.objects.filter(unit__in=keys, experiment_id__in=ids).values_list(
                    "experiment_id", "unit", "arm", "salt"
                )
                for exp_id, unit, arm, salt in rows:
                    if salts.get(exp_id) != salt:
                        continue  # assigned before a restart: does not count
                    if unit == self.unit.key:
                        self._stored[exp_id] = arm
                    else:
                        self._stored_device[exp_id] = arm
                for exp_id, arm in self._stored_device.items():
                    self._stored.setdefault(exp_id, arm)
        return self._stored

    def _pick_in_layer(self, layer_id: int) -> tuple[config.CompiledExperiment | None, str | None]:
        """The one experiment of this layer the unit is in, with its arm (or (None, None))."""
        if layer_id in self._layer_pick:
            return self._layer_pick[layer_id]
        picked: tuple[config.CompiledExperiment | None, str | None] = (None, None)
        unit_key = self.unit.key
        experiments = self.snapshot.by_layer.get(layer_id, [])
        if unit_key and experiments:
            stored = self._load_stored()
            sticky = [e for e in experiments if e.id in stored]
            if sticky:
                exp = sticky[0]
                picked = (exp, stored[exp.id])
            else:
                bucket = bucketing.layer_bucket(experiments[0].layer_salt, unit_key)
                for exp in experiments:
                    if exp.bucket_start <= bucket < exp.bucket_end:
                        if exp.conditions and not conditions_match(exp.conditions, self.unit):
                            break
                        picked = (exp, self._hash_arm(exp, unit_key))
                        break
        self._layer_pick[layer_id] = picked
        return picked

    @staticmethod
    def _hash_arm(exp: config.CompiledExperiment, unit_key: str) -> str:
        point = bucketing.unit_hash(exp.salt, unit_key)
        if point < exp.holdout:
            return HOLDOUT_ARM
        rest = (point - exp.holdout) / (1.0 - exp.holdout)
        index = bucketing.choose(rest, [a.weight for a in exp.arms])
        return exp.arms[index].key

    def _arm_in(self, exp: config.CompiledExperiment) -> str | None:
        picked, arm = self._pick_in_layer(exp.layer_id)
        return arm if picked is not None and picked.id == exp.id else None

    def _expose(self, exp: config.CompiledExperiment, arm: str) -> None:
        if exp.key in self.exposed:
            return
        self.exposed[exp.key] = arm
        if not self.log_exposures:
            return
        from apps.experiments import exposures

        try:
            exposures.record(
                unit=self.unit,
                experiment_id=exp.id,
                experiment_key=exp.key,
                salt=exp.salt,
                arm=arm,
                now=self.now,
            )
        except Exception:  # an exposure lost must not break the page that used the value
            logger.exception("experiments: exposure of %s not recorded", exp.key)


def for_request(request: HttpRequest) -> Evaluation:
    """The request's evaluation, created once per request."""
    found = getattr(request, "_swipeme_flags", None)
    if isinstance(found, Evaluation):
        return found
    ev = Evaluation(request_unit(request))
    request._swipeme_flags = ev  # type: ignore[attr-defined]
    return ev


def for_user(
    user: Any, *, device_id: str = "", platform: str = "", app_version: str = ""
) -> Evaluation:
    return Evaluation(
        unit_for(user, device_id=device_id, platform=platform, app_version=app_version)
    )


def value(
    key: str, viewer: Any, *, default: Any = None, device_id: str = "", platform: str = ""
) -> Any:
    """One flag for a viewer (a User, None for a visitor, a Unit or an Evaluation)."""
    if isinstance(viewer, Evaluation):
        return viewer.value(key, default)
    unit = (
        viewer
        if isinstance(viewer, Unit)
        else unit_for(viewer, device_id=device_id, platform=platform)
    )
    return Evaluation(unit).value(key, default)


def assign(experiment_key: str, unit: Unit | Any, *, expose: bool = True) -> str | None:
    """The unit's arm in a running experiment (None when it is not in it)."""
    if not isinstance(unit, Unit):
        unit = unit_for(unit)
    return Evaluation(unit, log_exposures=expose).arm(experiment_key, expose=expose)


def environment() -> str:
    return str(settings.SWIPEME_FLAGS_ENVIRONMENT)
