"""Cursor pagination for graph lists: newest edge first (edges have time-ordered ids).

A cursor the client made up is a 400 in the error shape (DRF's own answer is a 404, and a
well-encoded cursor with a non-numeric position would reach the database as a 500)."""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import Cursor
from rest_framework.request import Request

from apps.core.pagination import CreatedCursorPagination

_MAX_ID = 2**63 - 1


class GraphCursorPagination(CreatedCursorPagination):
    page_size = 20
    max_page_size = 100  # a larger ?page_size= is capped, not refused

    def decode_cursor(self, request: Request) -> Cursor | None:
        try:
            cursor: Cursor | None = super().decode_cursor(request)
        except NotFound:
            raise ValidationError({"cursor": ["Invalid cursor."]}, code="invalid_cursor") from None
        if cursor is not None and cursor.position is not None:
            position: Any = cursor.position
            if not (isinstance(position, str) and position.isascii() and position.isdigit()
                    and int(position) <= _MAX_ID):
                raise ValidationError({"cursor": ["Invalid cursor."]}, code="invalid_cursor")
        return cursor
