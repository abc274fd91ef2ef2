"""Celery tasks of experiments: thin, safe to run twice (a snapshot is one row per day)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="apps.experiments.snapshot_results", ignore_result=True)
def snapshot_results() -> int:
    """Today's results of every running experiment (beat, every 6 h); the chart over time
    and the results page read these snapshots."""
    from apps.analytics.lake.engine import EngineError
    from apps.experiments.analysis import AnalysisError, snapshot_experiment
    from apps.experiments.models import Experiment

    done = 0
    for experiment in Experiment.objects.filter(status=Experiment.Status.RUNNING):
        try:
            snapshot_experiment(experiment)
        except (AnalysisError, EngineError) as exc:
            logger.warning("experiment %s: no results: %s", experiment.key, exc)
            continue
        done += 1
    return done
