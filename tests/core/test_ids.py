from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.core.ids import allocate_ids, id_created_at, id_floor_for
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
