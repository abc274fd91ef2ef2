"""Import PDQ hashes into a hash list: `manage.py moderation_import_hashes <file> --list
<name> --policy <policy>`. The file is CSV or TSV (by content): the first column is a
64-hex-digit PDQ hash, an optional second column a note; a header row and lines starting
with # are skipped. Adding hashes re-scans every scanned upload."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from apps.moderation.detection import services
from apps.moderation.policies import Policy

MAX_FILE_BYTES = 512 * 1024 * 1024


class Command(BaseCommand):
    help = "Import a CSV/TSV of hex PDQ hashes into a moderation hash list."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--list", required=True, dest="list_name")
        parser.add_argument("--policy", required=True, choices=Policy.values)
        parser.add_argument("--max-distance", type=int, default=None,
                            help="Hamming distance threshold of the list (0-256).")
        parser.add_argument("--reason", default="", help="why (for the audit trail)")

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise CommandError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
        distance = options["max_distance"]
        if distance is not None and not 0 <= distance <= 256:
            raise CommandError("--max-distance is between 0 and 256")
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            sample = handle.read(4096)
            handle.seek(0)
            delimiter = "\t" if "\t" in sample else ","
            rows: list[tuple[str, str]] = []
            for row in csv.reader(handle, delimiter=delimiter):
                if not row or not row[0].strip() or row[0].lstrip().startswith("#"):
                    continue
                first = row[0].strip()
                if not rows and first.lower() in ("pdq", "hash", "pdq_hash", "hex"):
                    continue  # header
                rows.append((first, row[1].strip() if len(row) > 1 else ""))
        try:
            hash_list, added, errors = services.hash_list_import(
                name=options["list_name"], policy=options["policy"], rows=rows,
                max_distance=distance, reason=options["reason"])
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        for error in errors[:20]:
            self.stderr.write(error)
        self.stdout.write(f"{hash_list.name}: {added} added, {len(errors)} rejected, "
                          f"{len(rows) - len(errors) - added} already listed")
