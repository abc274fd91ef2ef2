"""Delivery tests start with none of delivery's Redis keys (test Redis db of this run)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from apps.ads.delivery import redis_client
from apps.core import redis_health


def _drop_ads_keys() -> None:
    client = redis_client.client()
    keys = list(client.scan_iter("ads:*", count=1000))
    for start in range(0, len(keys), 500):
        client.delete(*keys[start : start + 500])


@pytest.fixture(autouse=True)
def _clean_delivery_redis() -> Iterator[None]:
    redis_client.forget()
    _drop_ads_keys()
    yield
    redis_health.reset_all()  # a test that opened the breaker still gets its keys dropped
    _drop_ads_keys()
    redis_client.forget()
