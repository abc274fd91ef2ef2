"""The standard metrics every experiment can pick (apps.experiments.standard_metrics)."""

from django.db import migrations

from apps.experiments.standard_metrics import STANDARD, seed_standard_metrics


def seed(apps, schema_editor):
    seed_standard_metrics(apps.get_model("experiments", "Metric"))


def unseed(apps, schema_editor):
    Metric = apps.get_model("experiments", "Metric")
    Metric.objects.filter(key__in=[row[0] for row in STANDARD],
                          experiment_links__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("experiments", "0002_metrics")]
    operations = [migrations.RunPython(seed, unseed)]
