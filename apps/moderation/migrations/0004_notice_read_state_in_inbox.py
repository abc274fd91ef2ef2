"""A notice's read state is the inbox's (notifications 0006 carried it over first)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("moderation", "0003_search_ban"),
        ("notifications", "0006_moderation_notice_types"),
    ]

    operations = [migrations.RemoveField(model_name="notice", name="read_at")]
