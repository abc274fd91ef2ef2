"""The search's input: `search_params` validates the request's parameters (bad input is a
400 in the error shape; a query with nothing to search is left to the use case, which
answers it empty)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from apps.core.errors import ApplicationError

Tab = Literal["top", "accounts", "videos", "sounds", "live", "hashtags"]
TABS: tuple[Tab, ...] = ("top", "accounts", "videos", "sounds", "live", "hashtags")
MODES = ("full", "prefix")
MAX_QUERY_CHARS = 200
DEFAULT_LIMIT, MAX_LIMIT = 20, 30


@dataclass(frozen=True)
class SearchParams:
    q: str
    tab: Tab
    prefix: bool
    limit: int
    cursor: str | None


def bad(field_name: str, message: str, code: str = "invalid") -> ApplicationError:
    return ApplicationError(message, code=code, fields={field_name: [message]})


def search_params(params: Mapping[str, str], *, raw_query_string: str = "") -> SearchParams:
    """The validated parameters. `raw_query_string` is checked to be UTF-8 (the request's
    decoded parameters silently replace invalid bytes such as %FF)."""
    try:
        urllib.parse.unquote_to_bytes(raw_query_string.replace("+", " ")).decode("utf-8")
    except UnicodeDecodeError:
        raise ApplicationError("The query string is not valid UTF-8.", code="invalid_encoding",
                               fields={"q": ["Not valid UTF-8."]}) from None
    q = params.get("q", "")
    if "\x00" in q:
        raise bad("q", "The query contains a NUL character.", "invalid_query")
    q = " ".join(q.split())
    if len(q) > MAX_QUERY_CHARS:
        raise bad("q", f"Search for at most {MAX_QUERY_CHARS} characters.", "query_too_long")
    tab = params.get("tab") or "top"
    if tab not in TABS:
        raise bad("tab", f"Unknown tab: one of {', '.join(TABS)}.", "invalid_tab")
    mode = params.get("mode") or "full"
    if mode not in MODES:
        raise bad("mode", "Unknown mode: full or prefix.", "invalid_mode")
    raw_limit = params.get("limit")
    limit = DEFAULT_LIMIT
    if raw_limit is not None:
        if not (raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) <= 3
                and 1 <= int(raw_limit) <= MAX_LIMIT):
            raise bad("limit", f"A whole number from 1 to {MAX_LIMIT}.")
        limit = int(raw_limit)
    cursor = params.get("cursor") or None
    return SearchParams(q=q, tab=tab, prefix=mode == "prefix", limit=limit, cursor=cursor)
