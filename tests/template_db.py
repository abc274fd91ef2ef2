"""The migrated database that `make pytest` clones each test database from.

A test database made by migrations costs a minute of CPU (migrate renders every app's
migration states), and `make pytest` needs three: one per xdist worker and one for the
serial phase. Migrated once here, each is a `CREATE DATABASE ... TEMPLATE` file copy
(settings.test: SWIPEME_TEST_DB_TEMPLATE), after which pytest-django's migrate finds
nothing left to apply. Rebuilt by every run, so an edited migration is never stale.

    python -m tests.template_db NAME          # drop NAME if it exists, create, migrate
    python -m tests.template_db --drop NAME   # drop it
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str]) -> None:
    drop_only = argv[:1] == ["--drop"]
    name = argv[-1]
    # The template is an ordinary database that settings.test sees as its test database.
    os.environ.update(DJANGO_SETTINGS_MODULE="swipeme_site.settings.test",
                      SWIPEME_TEST_DB_NAME=name, SWIPEME_USE_TEST_DB="1")
    for variable in ("PYTEST_XDIST_WORKER", "SWIPEME_TEST_DB_TEMPLATE"):
        os.environ.pop(variable, None)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    with connection._nodb_cursor() as cursor:
        cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop_only:
            cursor.execute(f'CREATE DATABASE "{name}"')
    if not drop_only:
        call_command("migrate", verbosity=0, interactive=False)
    connection.close()


if __name__ == "__main__":
    main(sys.argv[1:])
