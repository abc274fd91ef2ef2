"""`field__any=values`: `field = ANY(%s)` with the values as one array parameter.

`field__in=values` writes one `%s` per value; at thousands of values (a fan-out batch of
5,000 recipients) psycopg's splitting of the statement around its placeholders costs more
than the query. Same meaning as `__in` (no value: no row), one parameter whatever the size."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Field, ForeignObject, Lookup
from django.db.models.sql.compiler import SQLCompiler


class AnyLookup(Lookup):  # type: ignore[type-arg]
    lookup_name = "any"
    prepare_rhs = False

    def get_prep_lookup(self) -> Any:
        values: Iterable[Any] = self.rhs
        field = self.lhs.output_field
        return [field.get_prep_value(v) for v in values]

    def as_sql(self, compiler: SQLCompiler, connection: Any) -> tuple[str, tuple[Any, ...]]:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, self.rhs)


Field.register_lookup(AnyLookup)
ForeignObject.register_lookup(AnyLookup)  # related fields keep their own lookup registry
