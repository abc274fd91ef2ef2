"""What the media views share: the documented error answers and the path and user ids."""

from __future__ import annotations

from rest_framework.request import Request

from apps.core.api.schema import ErrorDocs
from apps.core.ids import id_or_404

_errors = ErrorDocs({
    403: "Not allowed or expired.", 404: "Not found.",
    409: "Conflict (offset mismatch, upload complete or busy).",
    412: "Tus-Resumable missing or unsupported.", 415: "Wrong Content-Type.",
    429: "Limit reached.",
})


def _id(value: int) -> int:
    """Path ids beyond bigint are simply not found (never a database error)."""
    return id_or_404(value)


def _user_id(request: Request) -> int:
    pk = request.user.pk
    assert pk is not None
    return int(pk)
