from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.experiments.analysis import AnalysisError, snapshot_experiment
from apps.experiments.models import Experiment


class Command(BaseCommand):
    help = "Compute an experiment's results now (the day's snapshot) and print the verdicts."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="the experiment's key")

    def handle(self, *args: Any, **options: Any) -> None:
        experiment = Experiment.objects.filter(key=options["key"]).first()
        if experiment is None:
            raise CommandError(f"No experiment {options['key']!r}.")
        try:
            snapshot = snapshot_experiment(experiment)
        except AnalysisError as exc:
            raise CommandError(str(exc)) from exc
        payload = snapshot.payload
        if payload["srm_flagged"]:
            self.stdout.write(f"BLOCKED: {payload['srm_reason']}")
            return
        for verdict in payload["verdicts"]["cuped"]:
            self.stdout.write(
                f"{verdict['arm']}: {verdict['label']}. {' '.join(verdict['reasons'])}"
            )
