from typing import Any

from django.core.management.base import BaseCommand

from apps.experiments.models import Metric
from apps.experiments.standard_metrics import seed_standard_metrics


class Command(BaseCommand):
    help = "Create the standard metrics that are missing (never changes an edited one)."

    def handle(self, *args: Any, **options: Any) -> None:
        made = seed_standard_metrics(Metric)
        self.stdout.write(f"{made} standard metric(s) created.")
