"""Writes to flags, layers and experiments: validated (clear errors, `RuleError`), audited
(one `core.AuditEvent` per change: who, when, what) and seen by the evaluators at once in
this process (`config.forget` after commit) and within seconds in the others.

Rules enforced here (the admin forms call the same checks):
- a flag's key, rules and values (apps.experiments.rules); no flag for safety, minors' or
  privacy settings;
- an experiment's arms set only existing flags of its environment to one of their
  variations; weights are positive; at least two arms;
- a layer holds at most 100 % of the traffic: experiments (draft or running) take disjoint
  slices; a request above what is free is refused and says how much is free;
- an experiment without a primary metric cannot start;
- a running experiment's allocation (traffic, arms, weights, holdout, conditions) cannot
  change: stop it, or restart it, which draws a new salt (earlier assignments no longer
  count, so no unit carries an arm from the old allocation into the new one).
"""

from apps.experiments.rules import RuleError
from apps.experiments.services.common import ALLOCATION_FIELDS, ARM_KEY_RE
from apps.experiments.services.experiments import (
    _free_slice,
    experiment_create,
    experiment_restart,
    experiment_start,
    experiment_stop,
    experiment_update,
    has_primary_metric,
    layer_create,
    validate_arms,
)
from apps.experiments.services.flags import check_flag_edit, flag_save, flag_set_enabled

__all__ = [
    "ALLOCATION_FIELDS",
    "ARM_KEY_RE",
    "RuleError",
    "_free_slice",
    "check_flag_edit",
    "experiment_create",
    "experiment_restart",
    "experiment_start",
    "experiment_stop",
    "experiment_update",
    "flag_save",
    "flag_set_enabled",
    "has_primary_metric",
    "layer_create",
    "validate_arms",
]
