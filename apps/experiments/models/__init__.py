"""The experiments app's tables: flags (models.flags), experiments, layers and assignments
(models.experiments), metric definitions (models.metrics)."""

from apps.experiments.models.experiments import Assignment, Experiment, Layer
from apps.experiments.models.flags import Environment, Flag
from apps.experiments.models.metrics import ExperimentMetric, Metric, ResultSnapshot

__all__ = [
    "Assignment", "Environment", "Experiment", "ExperimentMetric", "Flag", "Layer", "Metric",
    "ResultSnapshot",
]
