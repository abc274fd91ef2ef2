import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    """The index outbox (apps.search.indexing) only; the other search tables come in their
    own migrations."""

    dependencies = [("search", "0001_history_trending")]

    operations = [
        migrations.CreateModel(
            name="IndexOutbox",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True,
                                           serialize=False, verbose_name="ID")),
                ("kind", models.CharField(max_length=8)),
                ("object_id", models.BigIntegerField()),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "indexes": [models.Index(fields=["created_at"], name="search_outbox_created")],
            },
        ),
    ]
