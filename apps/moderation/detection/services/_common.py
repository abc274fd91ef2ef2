"""What the detection service modules share: step names, batch sizes, staleness limits."""

from __future__ import annotations

from datetime import timedelta

SCAN_STEPS = ("frames", "audio")

HASH_CHUNK = 20_000  # hash-list rows compared at once (bounds memory of the XOR table)

RESCAN_BATCH = 100

RUNNING_STALE = timedelta(minutes=10)

PENDING_STALE = timedelta(minutes=5)
