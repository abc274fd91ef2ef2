"""The upload lease holds across processes while Redis is dead: one chunk is being written
by this test process (the service, its body still streaming in) when the live server, whose
Redis is gone, gets a PATCH for the same upload. It must answer 409 upload_busy, not write
the same bytes too (a lease kept in the cache fell back to each process's own memory)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from django.db import connection
from rest_framework.test import APIClient

from apps.media import storage
from apps.media.models import MediaAsset
from apps.media.services import upload_append
from tests.factories import UserFactory
from tests.faults.conftest import PrivateRedis
from tests.media.conftest import open_upload


@pytest.mark.django_db(transaction=True)
def test_a_second_process_cannot_write_a_chunk_being_written_during_a_redis_outage(
    asgi_server_on_private_redis: str, private_redis: PrivateRedis
) -> None:
    base = asgi_server_on_private_redis
    client = APIClient()
    client.force_authenticate(UserFactory())
    data = b"x" * 40_000
    body = open_upload(client, len(data))
    asset_id = int(body["id"])
    private_redis.kill()  # the server's Redis: its cache falls back to process memory

    streaming = threading.Event()
    finish = threading.Event()
    outcome: dict[str, Any] = {}

    def slow_body() -> Iterator[bytes]:
        yield data[:10_000]
        streaming.set()
        assert finish.wait(30)
        yield data[10_000:]

    def write_here() -> None:
        try:
            outcome["asset"] = upload_append(asset_id=asset_id, offset=0, length=len(data),
                                             chunks=slow_body())
        except Exception as exc:  # noqa: BLE001 - reported below
            outcome["error"] = exc
        finally:
            connection.close()

    writer = threading.Thread(target=write_here)
    writer.start()
    try:
        assert streaming.wait(30)
        # when: the other process gets a PATCH for the same bytes
        response = httpx.patch(
            f"{base}{urlsplit(body['upload_url']).path}", content=b"y" * len(data),
            headers={"Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                     "Content-Type": "application/offset+octet-stream"}, timeout=10)
    finally:
        finish.set()
        writer.join(timeout=30)

    # then: refused as busy, in the error shape; the first writer's bytes are the upload's
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "upload_busy"
    assert "error" not in outcome, outcome
    asset = MediaAsset.objects.get(pk=asset_id)
    assert asset.upload_offset == len(data)
    assert storage.source_path(asset_id).read_bytes() == data
