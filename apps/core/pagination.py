"""Cursor pagination over time-ordered ids: stable under inserts, no OFFSET scans."""

from __future__ import annotations

from rest_framework.pagination import CursorPagination


class IdCursorPagination(CursorPagination):
    ordering = "-id"
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = 100
    cursor_query_param = "cursor"


class CreatedCursorPagination(IdCursorPagination):
    """For join rows (follows, blocks) whose own id orders them by when they happened."""

    ordering = "-id"
