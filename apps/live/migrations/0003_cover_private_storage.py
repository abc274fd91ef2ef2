"""Live covers move to private storage (served through the visibility rule by
`playback.cover`, never from MEDIA_URL): the field's storage changes, and the covers already
under public media are moved there under the same names."""

from typing import Any

from django.core.files.storage import default_storage
from django.db import migrations, models

import apps.live.storage
from apps.live.storage import cover_storage


def move_covers_to_private_storage(registry: Any, schema_editor: Any) -> None:
    """Each cover still in public media is copied to private storage under its name and
    deleted from public media. Idempotent: a cover already moved is left alone."""
    LiveStream = registry.get_model("live", "LiveStream")
    private = cover_storage()
    names = (LiveStream.objects.exclude(cover="").values_list("cover", flat=True)
             .distinct().iterator())
    for name in names:
        if private.exists(name) or not default_storage.exists(name):
            continue
        with default_storage.open(name, "rb") as handle:
            saved = private.save(name, handle)
        if saved != name:  # pragma: no cover - exists() was checked just above
            LiveStream.objects.filter(cover=name).update(cover=saved)
        default_storage.delete(name)


class Migration(migrations.Migration):

    dependencies = [
        ('live', '0002_chat_limits_policy'),
    ]

    operations = [
        migrations.AlterField(
            model_name='livestream',
            name='cover',
            field=models.ImageField(blank=True, storage=apps.live.storage.cover_storage, upload_to='live/covers/'),
        ),
        migrations.RunPython(move_covers_to_private_storage, migrations.RunPython.noop,
                             elidable=True),
    ]
