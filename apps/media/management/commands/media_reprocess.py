"""Reprocess assets from their kept source: all, by creation date, by state.

    manage.py media_reprocess --all
    manage.py media_reprocess --state failed --state ready --since 2026-11-01 --until 2026-11-20
    manage.py media_reprocess --id 123 --dry-run
    manage.py media_reprocess --id 123 --av1     # only (re)make its AV1 renditions
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.media import services
from apps.media.models import MediaAsset


def _date(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"not an ISO date: {value}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Command(BaseCommand):
    help = "Re-run the media pipeline for assets (all, by date, by state or by id)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--all", action="store_true", help="every asset with a source")
        parser.add_argument("--state", action="append", default=[],
                            choices=[s for s in MediaAsset.State.values if s != "uploading"])
        parser.add_argument("--since", type=_date, help="created at or after (ISO date)")
        parser.add_argument("--until", type=_date, help="created before (ISO date)")
        parser.add_argument("--id", action="append", type=int, default=[], dest="ids")
        parser.add_argument("--dry-run", action="store_true")
        parser.add_argument("--reason", default="", help="why (for the audit trail)")
        parser.add_argument("--av1", action="store_true",
                            help="only (re)make the AV1 renditions, on the bulk queue")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["ids"]:
            ids = [pk for pk in options["ids"] if MediaAsset.objects.filter(pk=pk).exists()]
        elif options["all"] or options["state"] or options["since"] or options["until"]:
            ids = services.assets_for_reprocess(
                states=options["state"], since=options["since"], until=options["until"]
            )
        else:
            raise CommandError("say which assets: --all, --state, --since/--until or --id")
        if options["dry_run"]:
            self.stdout.write(f"would reprocess {len(ids)} assets")
            return
        if options["av1"]:
            sent = sum(services.asset_av1_request(
                asset_id=pk, via="manage.py media_reprocess", redo=True,
                reason=options["reason"]) for pk in ids)
            self.stdout.write(f"AV1 renditions requested for {sent} of {len(ids)} assets "
                              f"({len(ids) - sent} not processed yet or already encoding)")
            return
        started = sum(services.asset_reprocess(asset_id=pk, reason=options["reason"],
                                               via="manage.py media_reprocess")
                      for pk in ids)
        self.stdout.write(f"reprocessing {started} of {len(ids)} assets "
                          f"({len(ids) - started} without a source or not eligible)")
