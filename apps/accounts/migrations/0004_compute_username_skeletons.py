"""Computes `username_skeleton` for every user. Users written without the sign-up or
rename services (the demo seed, factories, createsuperuser) had an empty one, so look-alikes
of them ("n1na" beside "nina") were accepted; `User.save` now keeps it current, and this
fills in (or refreshes, after the fold gained letters) every existing row."""

from __future__ import annotations

from typing import Any

from django.db import migrations

BATCH = 1000


def compute_skeletons(apps: Any, schema_editor: Any) -> None:
    # The live fold on purpose: the skeletons must match what sign-up compares against.
    from apps.accounts.usernames import skeleton

    User = apps.get_model("accounts", "User")
    changed = []
    for user in User.objects.only("id", "username", "username_skeleton").iterator(
            chunk_size=BATCH):
        folded = skeleton(user.username)
        if user.username_skeleton != folded:
            user.username_skeleton = folded
            changed.append(user)
        if len(changed) >= BATCH:
            User.objects.bulk_update(changed, ["username_skeleton"])
            changed = []
    if changed:
        User.objects.bulk_update(changed, ["username_skeleton"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_audience_flags"),
    ]

    operations = [
        migrations.RunPython(compute_skeletons, migrations.RunPython.noop, elidable=True),
    ]
