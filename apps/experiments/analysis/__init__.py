"""Experiment analysis: THE one place that computes per-unit metric values per arm.

    results = analyze_experiment(experiment, as_of=now)     # ExperimentResults
    snapshot = snapshot_experiment(experiment)              # stored ResultSnapshot (the page)

The metrics' event measures run as one SQL query over the event lake
(apps.analytics.lake.engine, chdb or a ClickHouse server), joined with the experiment's
assignments passed as a side table; table measures (revenue) come from their sources.
The statistics are apps.experiments.stats, applied in analysis.compute.
"""

from __future__ import annotations

from apps.experiments.analysis.compute import ExperimentResults
from apps.experiments.analysis.load import (
    AnalysisError,
    analyze_experiment,
    latest_snapshot,
    snapshot_experiment,
)

__all__ = [
    "AnalysisError",
    "ExperimentResults",
    "analyze_experiment",
    "latest_snapshot",
    "snapshot_experiment",
]
