from typing import Any

from django.core.management.base import BaseCommand

from apps.studio import luts


class Command(BaseCommand):
    help = "Writes the studio's colour presets (apps/studio/luts/*.cube) from apps.studio.luts."

    def handle(self, *args: Any, **options: Any) -> None:
        for path in luts.write_all():
            self.stdout.write(f"wrote {path}")
