"""Start, stop or wrap a command with the embedded PostgreSQL and Redis.

manage.py services start            # start what DATABASE_URL / REDIS_URL do not replace
manage.py services stop
manage.py services status
manage.py services run -- CMD ...   # start, run CMD, stop only what this call started
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from swipeme_site import embedded


class Command(BaseCommand):
    help = "Manage the embedded PostgreSQL and Redis under var/."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["start", "stop", "status", "run"])
        parser.add_argument("argv", nargs="*", help="command for `run` (after --)")

    def handle(self, *args: Any, action: str, argv: list[str], **options: Any) -> None:
        if action == "status":
            for name in ("postgres", "redis"):
                port = embedded.PG_PORT if name == "postgres" else embedded.REDIS_PORT
                up = "up" if embedded._port_open(port) else "down"
                wanted = "embedded" if name in embedded.wanted() else "external"
                self.stdout.write(f"{name}: {wanted}, {up}")
            return
        if action == "stop":
            embedded.stop(embedded.wanted())
            return
        started = embedded.start_wanted()
        for state in started:
            verb = "started" if state.started_now else "already running"
            self.stdout.write(f"{state.name} {verb}: {state.url}")
        if action == "start":
            return
        if not argv:
            raise CommandError("services run needs a command after --")
        try:
            code = subprocess.call(argv)
        finally:
            embedded.stop([s.name for s in started if s.started_now])
        sys.exit(code)
