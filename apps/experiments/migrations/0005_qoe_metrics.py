"""The QoE guardrail metrics (issue 22): rebuffer ratio and time to first frame p95."""

from django.db import migrations

from apps.experiments.standard_metrics import seed_standard_metrics

QOE_KEYS = ["rebuffer_ratio", "ttff_p95"]


def seed(apps, schema_editor):
    seed_standard_metrics(apps.get_model("experiments", "Metric"))


def unseed(apps, schema_editor):
    Metric = apps.get_model("experiments", "Metric")
    Metric.objects.filter(key__in=QOE_KEYS, experiment_links__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("experiments", "0004_metric_quantile")]
    operations = [migrations.RunPython(seed, unseed)]
