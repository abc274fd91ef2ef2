"""Cursor pagination over time-ordered ids: stable under inserts, no OFFSET scans.

A cursor the client made up is a 400 in the error shape: DRF's own answer is a 404, and a
well-encoded cursor with a non-numeric position would reach the database as a 500."""

from __future__ import annotations

import binascii
from base64 import b64decode
from typing import Any
from urllib import parse

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request

from apps.core.ids import MAX_ID

_KEYS = {"o", "r", "p"}


def _well_formed(encoded: str) -> bool:
    """Strict base64 (DRF's decoder skips stray characters) of a query string holding
    only the keys DRF writes, each once."""
    try:
        text = b64decode(encoded.encode("ascii"), validate=True).decode("ascii")
    except (ValueError, binascii.Error):
        return False
    pairs = parse.parse_qsl(text, keep_blank_values=True)
    keys = [key for key, _ in pairs]
    return bool(keys) and set(keys) <= _KEYS and len(keys) == len(set(keys))


def _invalid_cursor() -> ValidationError:
    return ValidationError({"cursor": ["Invalid cursor."]}, code="invalid_cursor")


class IdCursorPagination(CursorPagination):
    """Newest first by id; `?page_size=` above the maximum is capped, not refused."""

    ordering = "-id"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    cursor_query_param = "cursor"

    def decode_cursor(self, request: Request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is not None and not _well_formed(encoded):
            raise _invalid_cursor()
        try:
            cursor: Cursor | None = super().decode_cursor(request)
        except NotFound:
            raise _invalid_cursor() from None
        if cursor is not None and cursor.position is not None:
            position: Any = cursor.position
            if not (isinstance(position, str) and position.isascii() and position.isdigit()
                    and int(position) <= MAX_ID):
                raise _invalid_cursor()
        return cursor

    def get_page_size(self, request: Request) -> int:
        """A `page_size` that is not a positive integer is a 400, as the schema says
        (DRF's own answer ignores it, so `?page_size=banana` passed unnoticed)."""
        raw = request.query_params.get(self.page_size_query_param or "page_size")
        if raw is None:
            return self.page_size
        if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
            raise ValidationError({"page_size": ["A positive integer."]}, code="invalid")
        return min(int(raw), self.max_page_size)

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters: list[dict[str, Any]] = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"]["minimum"] = 1
                parameter["description"] = (f"Results per page, at least 1; more than "
                                            f"{self.max_page_size} is capped.")
        return parameters
