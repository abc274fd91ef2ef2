"""Feature flags and A/B experiments (issue 20).

Flags (`models.flags`) carry a value per environment with ordered targeting rules and a kill
switch; experiments (`models.experiments`) split a layer's traffic into arms by a salted hash,
and an arm sets flag values. `apps.experiments.evaluation` evaluates both for one viewer;
exposures are written to the event stream only when a value is read (`Evaluation.value`).
Metrics and statistics (`models.metrics`, `stats/`, `analysis`) read the event lake.
"""
