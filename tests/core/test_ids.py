from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.errors import NotFoundError
from apps.core.ids import MAX_ID, allocate_ids, id_created_at, id_floor_for, id_or_404, parse_id
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_ids_are_time_ordered_64_bit_and_carry_their_creation_time():
    # given / when
    before = timezone.now() - timedelta(seconds=1)
    users = [UserFactory() for _ in range(5)]
    after = timezone.now() + timedelta(seconds=1)

    # then
    ids = [u.pk for u in users]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5
    assert all(0 < i < 2**63 for i in ids)
    assert all(before <= id_created_at(i) <= after for i in ids)
    assert id_floor_for(before) <= ids[0]


def test_allocate_ids_returns_distinct_ascending_ids():
    ids = allocate_ids(1000)
    assert len(set(ids)) == 1000
    assert ids == sorted(ids)


@pytest.mark.parametrize("raw", ["1", "42", str(MAX_ID), 7, MAX_ID])
def test_parse_id_takes_digit_strings_and_ints_within_bigint(raw):
    assert parse_id(raw) == int(raw)


@pytest.mark.parametrize("raw", [
    "", "0", "-1", "+1", " 1", "1 ", "1.0", "1e3", "1_000", "abc", "١٢",  # Arabic-Indic digits
    str(MAX_ID + 1), "9" * 30, 0, -5, MAX_ID + 1, True, None, 1.0, ["1"],
])
def test_parse_id_refuses_what_cannot_be_an_id(raw):
    assert parse_id(raw) is None


def test_id_or_404_names_what_was_not_found():
    assert id_or_404("12", "Post not found.") == 12
    with pytest.raises(NotFoundError) as refused:
        id_or_404(str(MAX_ID + 1), "Post not found.")
    assert refused.value.message == "Post not found."
    assert refused.value.status_code == 404
