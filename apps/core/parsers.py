"""JSON with a nesting limit, for every place that parses a client's JSON.

`json.loads` recurses once per `[`/`{`: a 2 KB body of 1,000 brackets raises
RecursionError (a 500 wherever only ValueError is caught). `loads_json` measures the depth
first, without recursion, and refuses anything deeper than MAX_JSON_DEPTH with
`JSONTooDeepError` (a ValueError, so existing `except ValueError` handlers answer 400).
Used by DRF (`JSONParser`, the default parser), by `apps.core.middleware` (for views that
parse bodies themselves, such as allauth's headless API) and by the event ingest."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from itertools import accumulate
from typing import IO, Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as drf_json

# No payload of ours nests beyond a handful of levels; this leaves ample room.
MAX_JSON_DEPTH = 64

_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_BRACKETS = frozenset(b"[]{}")
_NOT_BRACKETS = bytes(b for b in range(256) if b not in _BRACKETS)
_STEP = [0] * 256
_STEP[ord("[")] = _STEP[ord("{")] = 1
_STEP[ord("]")] = _STEP[ord("}")] = -1


class JSONTooDeepError(ValueError):
    def __init__(self, max_depth: int = MAX_JSON_DEPTH) -> None:
        super().__init__(f"The JSON is nested too deeply (more than {max_depth} levels).")


def json_depth_exceeds(data: bytes | str, max_depth: int = MAX_JSON_DEPTH) -> bool:
    """True if `data` (JSON text) opens more than `max_depth` arrays/objects inside each
    other. Linear and non-recursive; brackets inside strings do not count."""
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if raw.count(b"[") + raw.count(b"{") <= max_depth:
        return False  # the common case: too few brackets to matter, no scan
    brackets = _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0) > max_depth


def loads_json(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH, **kwargs: Any) -> Any:
    """`json.loads` that refuses over-deep input with JSONTooDeepError (a ValueError)."""
    if json_depth_exceeds(data, max_depth):
        raise JSONTooDeepError(max_depth)
    try:
        return json.loads(data, **kwargs)
    except RecursionError:  # only if the caller's own stack is already very deep
        raise JSONTooDeepError(max_depth) from None


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser with the nesting limit (DEFAULT_PARSER_CLASSES)."""

    def parse(self, stream: IO[Any], media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        # get_encoding refuses bytes-to-bytes codecs (a compressed body would expand).
        encoding = parsers.get_encoding(parser_context or {})  # type: ignore[attr-defined]
        try:
            text = stream.read().decode(encoding)
        except UnicodeDecodeError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        parse_constant = drf_json.strict_constant if self.strict else None
        try:
            return loads_json(text, parse_constant=parse_constant)
        except JSONTooDeepError as exc:
            raise ParseError(str(exc)) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
