"""ORM statements compiled once and run many times with one parameter bound.

Building a rich queryset (visibility rules, EXISTS subqueries) and compiling it to SQL can
cost more Python time than PostgreSQL spends running it. When the SQL depends only on things
the caller can put in a key (who is asking, the day, the statement's kind), `run` compiles
the queryset once per key and afterwards only binds the one value that changes."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from django.db import connection
from django.db.models import QuerySet

KEPT = 2048

_Compiled = tuple[str, list[Any], int]  # sql, params, index of the bound parameter
_compiled: OrderedDict[Hashable, _Compiled] = OrderedDict()
_lock = threading.Lock()


class _Slot:
    """Stands in for the bound parameter while compiling (found again by identity)."""


def run(key: Hashable, build: Callable[[Any], QuerySet[Any]], value: Any) -> list[Any]:
    """`build(slot)` returns a one-column `values_list` queryset in which `slot` appears
    exactly once as a query parameter (e.g. inside a `RawSQL`); runs it with `value` in its
    place and returns the column. The key must determine everything else in the SQL."""
    with _lock:
        found = _compiled.get(key)
        if found is not None:
            _compiled.move_to_end(key)
    if found is None:
        slot = _Slot()
        sql, params = build(slot).query.sql_with_params()
        at = next(i for i, param in enumerate(params) if param is slot)
        found = (sql, list(params), at)
        with _lock:
            _compiled[key] = found
            while len(_compiled) > KEPT:
                _compiled.popitem(last=False)
    sql, bound, at = found
    with connection.cursor() as cursor:
        cursor.execute(sql, [*bound[:at], value, *bound[at + 1:]])
        return [row[0] for row in cursor.fetchall()]


def forget() -> None:
    with _lock:
        _compiled.clear()
