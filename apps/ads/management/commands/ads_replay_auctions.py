"""Replay logged auctions offline: each record's inputs through today's auction code must
give the logged outcome (placements, prices, ranking)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.ads.delivery import auction, auctionlog


class Command(BaseCommand):
    help = "Replay the newest logged auctions (or those in a JSON-lines file) and compare."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--limit", type=int, default=1000)
        parser.add_argument("--file", help="JSON lines of records (e.g. saved with --save).")
        parser.add_argument("--save", help="Write the records read from Redis to this file.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["file"]:
            lines = Path(options["file"]).read_text().splitlines()
            records = [
                auction.AuctionRecord.from_dict(json.loads(line)) for line in lines if line.strip()
            ]
        else:
            records = auctionlog.read(options["limit"])
        if options["save"]:
            Path(options["save"]).write_text(
                "".join(json.dumps(r.to_dict()) + "\n" for r in records)
            )
        result = auctionlog.replay(records)
        self.stdout.write(json.dumps(result))
        if result["mismatched"]:
            raise CommandError(f"{len(result['mismatched'])} auctions replayed differently")
