"""Where the lake's files live: a directory under var/ by default, an S3 bucket when
configured, both behind a Django storage (the media app's django-storages S3 backend).

Layout (Hive-style partitions by the event's UTC day and hour):

    events/date=YYYY-MM-DD/hour=HH/part-<flush ms>-<random>.parquet      (a flush)
    events/date=YYYY-MM-DD/hour=HH/compacted-<ms>-<random>.parquet       (compaction)

Settings: `LAKE_ROOT` (local directory, default `var/lake`), `LAKE_S3_BUCKET` (when set
the lake is in that bucket under `LAKE_S3_PREFIX`, at `SWIPEME_S3_ENDPOINT_URL` if set, with
the usual AWS_* credentials).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage

EVENTS_DIR = "events"
_PARTITION = re.compile(r"^date=(\d{4}-\d{2}-\d{2})$")
_HOUR = re.compile(r"^hour=(\d{2})$")


@dataclass(frozen=True, order=True)
class Partition:
    """One UTC hour of events."""

    day: str  # YYYY-MM-DD
    hour: int

    @property
    def path(self) -> str:
        return f"{EVENTS_DIR}/date={self.day}/hour={self.hour:02d}"

    @property
    def start(self) -> datetime:
        return datetime.strptime(self.day, "%Y-%m-%d").replace(hour=self.hour, tzinfo=UTC)

    @classmethod
    def of_ms(cls, epoch_ms: int) -> Partition:
        moment = datetime.fromtimestamp(epoch_ms / 1000, tz=UTC)
        return cls(moment.strftime("%Y-%m-%d"), moment.hour)


def on_s3() -> bool:
    return bool(getattr(settings, "LAKE_S3_BUCKET", ""))


def s3_options() -> dict[str, Any]:
    return {
        "bucket_name": settings.LAKE_S3_BUCKET,
        "endpoint_url": getattr(settings, "SWIPEME_S3_ENDPOINT_URL", "") or None,
        "location": settings.LAKE_S3_PREFIX,
        "querystring_auth": False,
        "file_overwrite": False,
        "access_key": os.environ.get("AWS_ACCESS_KEY_ID"),
        "secret_key": os.environ.get("AWS_SECRET_ACCESS_KEY"),
        "region_name": os.environ.get("AWS_DEFAULT_REGION") or None,
    }


def lake_storage() -> Storage:
    """The lake's storage as the settings say now (tests switch them)."""
    if on_s3():
        from storages.backends.s3 import S3Storage

        s3: Storage = S3Storage(**s3_options())
        return s3
    return FileSystemStorage(location=str(settings.LAKE_ROOT))


def events_location(days: tuple[date, date] | None = None) -> str:
    """The glob the engine reads: a local path, or an S3 URL (path-style, the endpoint's);
    with `days` (first, last, inclusive) only those days' directories."""
    pattern = f"{EVENTS_DIR}/*/*/*.parquet"
    if days is not None:
        first, last = days
        count = (last - first).days + 1
        names = [(first + timedelta(days=n)).isoformat() for n in range(max(count, 0))]
        # ClickHouse globs: {a,b} alternatives; no day at all matches no directory
        choice = ",".join(names) if names else "none"
        pattern = f"{EVENTS_DIR}/date={{{choice}}}/*/*.parquet"
    if on_s3():
        endpoint = (getattr(settings, "SWIPEME_S3_ENDPOINT_URL", "") or
                    "https://s3.amazonaws.com").rstrip("/")
        prefix = settings.LAKE_S3_PREFIX.strip("/")
        prefix = f"{prefix}/" if prefix else ""
        return f"{endpoint}/{settings.LAKE_S3_BUCKET}/{prefix}{pattern}"
    return os.path.join(str(settings.LAKE_ROOT), pattern)


def new_name(partition: Partition, kind: str) -> str:
    now_ms = int(datetime.now(tz=UTC).timestamp() * 1000)
    return f"{partition.path}/{kind}-{now_ms}-{secrets.token_hex(4)}.parquet"


def write_table(storage: Storage, name: str, table: pa.Table) -> str:
    """One Parquet file (zstd); returns the stored name."""
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    return storage.save(name, ContentFile(buffer.getvalue()))


def read_table(storage: Storage, name: str) -> pa.Table:
    with storage.open(name, "rb") as handle:
        return pq.read_table(io.BytesIO(handle.read()))


def _listdir(storage: Storage, path: str) -> tuple[list[str], list[str]]:
    try:
        dirs, files = storage.listdir(path)
    except FileNotFoundError:
        return [], []
    return list(dirs), list(files)


def partitions(storage: Storage) -> Iterator[Partition]:
    """Every partition that holds at least a directory (oldest first)."""
    days, _ = _listdir(storage, EVENTS_DIR)
    for day_dir in sorted(days):
        day = _PARTITION.match(day_dir)
        if not day:
            continue
        hours, _ = _listdir(storage, f"{EVENTS_DIR}/{day_dir}")
        for hour_dir in sorted(hours):
            hour = _HOUR.match(hour_dir)
            if hour:
                yield Partition(day.group(1), int(hour.group(1)))


def partition_files(storage: Storage, partition: Partition) -> list[str]:
    _, files = _listdir(storage, partition.path)
    return sorted(f"{partition.path}/{name}" for name in files if name.endswith(".parquet"))


def delete_partition(storage: Storage, partition: Partition) -> int:
    files = partition_files(storage, partition)
    for name in files:
        storage.delete(name)
    if isinstance(storage, FileSystemStorage):  # S3 has no directories to remove
        for path in (partition.path, partition.path.rsplit("/", 1)[0]):
            # not empty (another hour of the day) or already gone: left
            with contextlib.suppress(OSError):
                os.rmdir(storage.path(path))
    return len(files)
