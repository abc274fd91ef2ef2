from django.contrib.postgres.operations import CreateExtension, TrigramExtension
from django.db import migrations

from apps.core.ids import DROP_NEXT_ID_SQL, NEXT_ID_SQL


class Migration(migrations.Migration):
    initial = True
    dependencies: list[tuple[str, str]] = []

    operations = [
        TrigramExtension(),
        CreateExtension("vector"),
        CreateExtension("citext"),
        migrations.RunSQL(NEXT_ID_SQL, DROP_NEXT_ID_SQL),
    ]
