"""ORM statements compiled once and run many times with one parameter bound.

Building a rich queryset (visibility rules, EXISTS subqueries) and compiling it to SQL can
cost more Python time than PostgreSQL spends running it. When the SQL depends only on things
the caller can put in a key (who is asking, the day, the statement's kind: `viewer_key`),
`statement`, `rows` and `run` compile the queryset once per key and afterwards only bind
the one value that changes. `statement_for_viewer` and `run_for_viewer` do the same for a
statement built from rules about a viewer, once per *kind* of viewer: the viewer's id is
bound too, so the key holds only what the rules read about them besides it;
`statement_for_ids` for a statement whose only changing values are a few ids."""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from typing import Any, TypeVar

from django.core.signals import setting_changed
from django.db import connection, connections
from django.db.models import QuerySet
from django.db.models.query import get_related_populators
from django.db.models.sql.compiler import SQLCompiler
from django.utils import timezone

KEPT = 2048

_Compiled = tuple[str, list[Any], int, tuple[int, ...]]
# sql, params, the bound parameter's index, the viewer id's indexes
_compiled: OrderedDict[Hashable, Any] = OrderedDict()  # _Compiled, or statement_for_ids'
_T = TypeVar("_T")
_lock = threading.Lock()

# The id of the stand-in a viewer's statement is compiled for: no row has it (ids are
# positive snowflakes), so wherever it appears among the parameters the viewer's id goes.
VIEWER_STAND_IN = -(2**62) - 1721


class _Slot:
    """Stands in for the bound parameter while compiling (found again by identity)."""


def _kept(key: Hashable, compile_: Callable[[], _T]) -> _T:
    with _lock:
        kept: _T | None = _compiled.get(key)
        if kept is not None:
            _compiled.move_to_end(key)
            return kept
    found = compile_()
    with _lock:
        _compiled[key] = found
        while len(_compiled) > KEPT:
            _compiled.popitem(last=False)
    return found


def _compile(qs: QuerySet[Any], slot: _Slot, viewer_ids: bool) -> _Compiled:
    sql, params = qs.query.sql_with_params()
    at = next(i for i, param in enumerate(params) if param is slot)
    mine = tuple(i for i, param in enumerate(params)
                 if viewer_ids and isinstance(param, int) and param == VIEWER_STAND_IN)
    return sql, list(params), at, mine


def statement(key: Hashable, build: Callable[[Any], QuerySet[Any]], value: Any
              ) -> tuple[str, list[Any]]:
    """`build(slot)` returns a queryset in which `slot` appears exactly once as a query
    parameter (e.g. inside a `RawSQL`); the queryset's SQL, compiled once per `key`, and
    its parameters with `value` in the slot's place. The key must determine everything
    else in the SQL. For `Model.objects.raw(*statement(...))`: model instances with the
    selected columns (converted as the ORM does) and the annotations as attributes."""
    def compile_() -> _Compiled:
        slot = _Slot()
        return _compile(build(slot), slot, viewer_ids=False)

    sql, bound, at, _ = _kept(key, compile_)
    return sql, [*bound[:at], value, *bound[at + 1:]]


def statement_for_viewer(key: Hashable, build: Callable[[Any, Any], QuerySet[Any]],
                         viewer: Any, value: Any) -> tuple[str, list[Any]]:
    """`statement` of `build(who, slot)`, a queryset built from rules about the viewer
    `who` (None or signed out: no id), compiled once per `key` for a stand-in: a copy of
    the first viewer with the id `VIEWER_STAND_IN`; the parameters carry this viewer's id
    wherever the stand-in's appears. So the key must determine everything the rules read
    about the viewer *besides their id* (for content's visibility rules:
    `content.selectors.viewer_kind`), and one statement serves every viewer of that kind."""
    signed_in = viewer is not None and getattr(viewer, "is_authenticated", False)

    def compile_() -> _Compiled:
        slot = _Slot()
        if not signed_in:
            return _compile(build(viewer, slot), slot, viewer_ids=False)
        stand_in = copy.copy(viewer)
        stand_in.pk = VIEWER_STAND_IN
        # A rule that read the database while building (the stand-in's rows) or wrote the
        # id into the SQL text would bake the stand-in in: refused, loudly.
        with connection.execute_wrapper(_no_reads_while_building):
            compiled = _compile(build(stand_in, slot), slot, viewer_ids=True)
        if str(abs(VIEWER_STAND_IN)) in compiled[0]:
            raise RuntimeError(f"{key!r}: the viewer's id is in the SQL text, not a parameter")
        return compiled

    sql, bound, at, mine = _kept(key, compile_)
    params = [*bound[:at], value, *bound[at + 1:]]
    for i in mine:  # as the driver's wrapper the ORM gave it (psycopg's Int8)
        params[i] = type(bound[i])(viewer.pk)
    return sql, params


# Stand-ins for `statement_for_ids`' ids, below the viewer's: no row has a negative id.
_ID_STAND_INS = tuple(VIEWER_STAND_IN - 1 - i for i in range(8))


def statement_for_ids(key: Hashable, build: Callable[..., QuerySet[Any]], ids: Sequence[int]
                      ) -> tuple[str, list[Any], list[str]]:
    """`build(*ids)` is a `values_list` queryset whose only values that change between
    calls are these ids (a reader's, a conversation's), each passed where the ORM makes it
    a parameter; compiled once per `key` for stand-in ids no row has, then every parameter
    equal to a stand-in carries its id. Returns the SQL, the parameters and the columns'
    names in order. As for `statement_for_viewer`, a build that reads the database, or an
    id written into the SQL text or missing from the parameters, is refused loudly."""
    stand_ins = _ID_STAND_INS[:len(ids)]
    if len(stand_ins) != len(ids):
        raise ValueError(f"at most {len(_ID_STAND_INS)} ids")

    def compile_() -> tuple[str, list[Any], list[tuple[int, int]], list[str]]:
        with connection.execute_wrapper(_no_reads_while_building):
            query = build(*stand_ins).query
            sql, params = query.sql_with_params()
        places = [(i, stand_ins.index(p)) for i, p in enumerate(params)
                  if isinstance(p, int) and p in stand_ins]
        if {n for _, n in places} != set(range(len(stand_ins))) or any(
                str(abs(s)) in sql for s in stand_ins):
            raise RuntimeError(f"{key!r}: the statement's ids are not all parameters")
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
        return sql, list(params), places, names

    sql, bound, places, names = _kept(key, compile_)
    params = list(bound)
    for i, n in places:  # as the driver's wrapper the ORM gave it (psycopg's Int8)
        params[i] = type(bound[i])(ids[n])
    return sql, params, names


def rows(key: Hashable, build: Callable[[Any], QuerySet[Any]], value: Any) -> list[Any]:
    """Runs `statement(key, build, value)` (a `values_list` queryset): its rows, as the
    database driver returns them (no ORM converters: plain columns only)."""
    sql, params = statement(key, build, value)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def rows_together(*calls: tuple[Hashable, Callable[[Any], QuerySet[Any]], Any]
                  ) -> list[list[Any]]:
    """`rows` of several statements (each `(key, build, value)`) in one round trip: one
    execute of the statements joined by semicolons, their results read in turn. For
    independent reads one request needs anyway: each is a network round trip, and on a
    busy machine a wait for the database process to be scheduled."""
    compiled = [statement(key, build, value) for key, build, value in calls]
    with connection.cursor() as cursor:
        cursor.execute("; ".join(sql for sql, _ in compiled),
                       [param for _, params in compiled for param in params])
        out = [list(cursor.fetchall())]
        while len(out) < len(compiled):
            cursor.nextset()
            out.append(list(cursor.fetchall()))
        return out


def run(key: Hashable, build: Callable[[Any], QuerySet[Any]], value: Any) -> list[Any]:
    """`rows` of a one-column `values_list` queryset: the column."""
    return [row[0] for row in rows(key, build, value)]


def _no_reads_while_building(*_: Any) -> Any:
    raise RuntimeError("a statement compiled once read the database while it was being built")


def run_for_viewer(key: Hashable, build: Callable[[Any, Any], QuerySet[Any]], viewer: Any,
                   value: Any) -> list[Any]:
    """`run` of `statement_for_viewer(key, build, viewer, value)`: the one column."""
    sql, params = statement_for_viewer(key, build, viewer, value)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [row[0] for row in cursor.fetchall()]


def compiled_keys() -> list[Hashable]:
    """The keys of the statements kept (`statement`, `statement_for_viewer`,
    `statement_for_ids`), oldest first."""
    with _lock:
        return list(_compiled)


_Plan = tuple[str, list[Any], list[int], SQLCompiler]  # sql, params, slots' places, compiler
_plans: OrderedDict[Hashable, _Plan] = OrderedDict()


def instances(key: Hashable, build: Callable[..., QuerySet[Any]], *values: Any) -> list[Any]:
    """Model instances of `build(*slots)` (a queryset with `select_related` and
    annotations, each slot appearing as a query parameter, e.g. inside a `RawSQL`) with
    `values` bound in the slots' places: what iterating the queryset gives, but the queryset
    is built and compiled once per `key` (so the key need not name what the slots carry:
    one plan per kind of statement, not per viewer). The compiled statement keeps Django's
    plan of the row (which columns make which model, the joined objects, the annotations),
    so only the rows are read and converted per call."""
    with _lock:
        plan = _plans.get(key)
        if plan is not None:
            _plans.move_to_end(key)
    if plan is None:
        slots = [_Slot() for _ in values]
        qs = build(*slots)
        compiler = qs.query.get_compiler(using=qs.db)
        sql, params = compiler.as_sql()  # fills compiler.select, klass_info, annotations
        places = [next(i for i, slot in enumerate(slots) if slot is param) if
                  isinstance(param, _Slot) else -1 for param in params]
        plan = (sql, list(params), places, compiler)
        with _lock:
            _plans[key] = plan
            while len(_plans) > KEPT:
                _plans.popitem(last=False)
    sql, bound, places, compiler = plan
    params = [values[at] if at >= 0 else param for param, at in zip(bound, places, strict=True)]
    db = str(compiler.using)
    with connections[db].cursor() as cursor:
        cursor.execute(sql, params)
        fetched = [row[:compiler.col_count] for row in cursor.fetchall()]
    # As django.db.models.query.ModelIterable does with the rows of its compiler.
    select, klass_info = compiler.select, compiler.klass_info
    annotations = compiler.annotation_col_map or {}
    model_cls = klass_info["model"]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    init_list = [f[0].target.attname for f in select[start:end]]
    populators = get_related_populators(klass_info, select, db)  # type: ignore[call-arg]
    out: list[Any] = []
    for row in compiler.results_iter([fetched]):
        obj = model_cls.from_db(db, init_list, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, pos in annotations.items():
            setattr(obj, name, row[pos])
        out.append(obj)
    return out


def viewer_key(viewer: Any) -> Hashable:
    """The part of a key that a viewer's statement depends on: every field of their row
    (whatever rule reads about them) and the day (age cut-offs move with it). Relations
    (follows, blocks, mutes) are not in it: the statements read them with EXISTS."""
    if viewer is None or not getattr(viewer, "is_authenticated", False):
        return (None, timezone.localdate())
    fields = tuple(getattr(viewer, f.attname) for f in viewer._meta.concrete_fields)
    return (viewer.pk, repr(fields), timezone.localdate())


def forget(**_: Any) -> None:
    with _lock:
        _compiled.clear()
        _plans.clear()


# A rule may read a setting (an age cut-off, say): a changed setting (tests) recompiles.
setting_changed.connect(forget, dispatch_uid="compiled_sql.forget")
