"""`core.compiled_sql.statement_for_ids`: a statement whose only changing values are ids,
compiled once for stand-in ids and run with each call's (the DM socket's membership read)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.db.models.expressions import RawSQL

from apps.accounts.models import User
from apps.core import compiled_sql
from apps.social.models import Follow
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def _follows(follower_id: int, followee_id: int) -> Any:
    return Follow.objects.filter(follower_id=follower_id, followee_id=followee_id).values_list(
        "follower_id", "followee_id")


def _rows(key: Any, build: Any, ids: list[int]) -> tuple[list[Any], list[str]]:
    sql, params, names = compiled_sql.statement_for_ids(key, build, ids)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall()), names


def test_each_call_binds_its_own_ids_in_one_statement_compiled_once() -> None:
    a, b, c = UserFactory(), UserFactory(), UserFactory()
    Follow.objects.create(follower=a, followee=b)
    Follow.objects.create(follower=c, followee=a)
    key = ("test", "follows")
    for x, y in ((a, b), (c, a), (b, a), (a, c)):
        rows, names = _rows(key, _follows, [x.pk, y.pk])
        assert rows == [tuple(r) for r in _follows(x.pk, y.pk)]  # the ORM's answer
        assert names == ["follower_id", "followee_id"]
    assert compiled_sql.compiled_keys().count(key) == 1


def test_a_build_that_bakes_an_id_in_or_reads_the_database_is_refused() -> None:
    def in_text(user_id: int, _: int) -> Any:
        return User.objects.filter(pk=RawSQL(f"SELECT {user_id}", ())).values_list("pk")

    def unused(user_id: int, other_id: int) -> Any:
        return User.objects.filter(pk=user_id).values_list("pk")

    def reads(user_id: int, other_id: int) -> Any:
        found = list(User.objects.filter(pk=user_id).values_list("pk", flat=True))
        return User.objects.filter(pk__in=found, id=other_id).values_list("pk")

    with pytest.raises(RuntimeError, match="not all parameters"):
        compiled_sql.statement_for_ids(("test", "text"), in_text, [1, 2])
    with pytest.raises(RuntimeError, match="not all parameters"):
        compiled_sql.statement_for_ids(("test", "unused"), unused, [1, 2])
    with pytest.raises(RuntimeError, match="read the database"):
        compiled_sql.statement_for_ids(("test", "reads"), reads, [1, 2])
