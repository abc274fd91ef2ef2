"""The upload lease: one request at a time may write an upload's bytes (a tus PATCH, a
termination, an S3 completion), across every web process.

A PostgreSQL session advisory lock keyed by the asset id (asset ids are far above the small
constants other advisory locks here use): held by this request's database connection, so it
does not depend on Redis being up (a lease in the cache fell back to each process's memory
during an outage, and two processes could then write the same bytes), needs no expiry (a
crashed process's connection ends and the lock with it), and never holds a transaction open
while a body streams in."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import DatabaseError, connection

from apps.core.errors import ConflictError


@contextmanager
def upload_lease(asset_id: int, *, busy: str) -> Iterator[None]:
    """Holds the asset's lease for the block; ConflictError("upload_busy", `busy`) when
    another request holds it."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [asset_id])
        (taken,) = cursor.fetchone()
    if not taken:
        raise ConflictError(busy, code="upload_busy")
    try:
        yield
    finally:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [asset_id])
        except DatabaseError:
            pass  # the connection broke: the server released the lock with it
