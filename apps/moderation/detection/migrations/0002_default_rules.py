"""Seed the per-policy rules (the same defaults as `engine.DEFAULT_RULES`, written out so
the migration does not change when the code does) and the settings row."""

from django.db import migrations

RULES = [
    # policy, block_at, review_at, age_restrict_at, limit_reach_at, on_match
    ("nudity_sexual", 0.85, 0.6, 0.45, None, "block"),
    ("hate_harassment", None, 0.97, None, 0.85, "review"),
    ("spam_scam", None, 0.9, None, 0.6, "limit_reach"),
    ("minor_safety", None, None, None, None, "block"),
    ("violence_graphic", None, None, None, None, "block"),
    ("copyright", None, None, None, None, "review"),
]


def seed(apps, schema_editor):  # type: ignore[no-untyped-def]
    rule = apps.get_model("moderation_detection", "PolicyRule")
    for policy, block, review, age, limit, on_match in RULES:
        rule.objects.get_or_create(policy=policy, defaults={
            "block_at": block, "review_at": review, "age_restrict_at": age,
            "limit_reach_at": limit, "on_match": on_match})
    apps.get_model("moderation_detection", "DetectionSettings").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("moderation_detection", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
