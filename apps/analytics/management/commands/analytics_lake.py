"""`manage.py analytics_lake flush|compact|expire|sql|ddl`: the event lake by hand (what
beat does), a query through the engine, and the DDL of `events` on a ClickHouse server."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.analytics.lake import engine, maintenance, writer


class Command(BaseCommand):
    help = "Flush, compact or expire the event lake; run SQL over it; print the server DDL."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        sub.add_parser("flush", help="write pending event-log entries to the lake now")
        sub.add_parser("compact", help="merge the closed hours' files now")
        sub.add_parser("expire", help="delete partitions older than LAKE_RETENTION_DAYS")
        sql = sub.add_parser("sql", help="run one query over `events` (engine.run)")
        sql.add_argument("query")
        sub.add_parser("ddl", help="CREATE VIEW events ... for a ClickHouse server")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action == "flush":
            total = writer.FlushReport()
            while True:
                report = writer.lake_flush()
                if report.failed:
                    raise CommandError("the lake write failed (see the log); nothing acked")
                total.entries += report.entries
                total.events += report.events
                total.files += report.files
                if not report.entries:
                    break
            self.stdout.write(f"entries {total.entries}, events {total.events}, "
                              f"files {len(total.files)}")
        elif action == "compact":
            done = maintenance.lake_compact()
            self.stdout.write(f"partitions {done.partitions}, files in {done.files_in}, "
                              f"rows {done.rows_in} -> {done.rows_out}")
        elif action == "expire":
            self.stdout.write(f"files deleted {maintenance.lake_expire()}")
        elif action == "sql":
            try:
                for row in engine.run(options["query"]):
                    self.stdout.write("\t".join(str(value) for value in row))
            except engine.EngineError as exc:
                raise CommandError(str(exc)) from exc
        else:
            self.stdout.write(engine.server_events_ddl())
