from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

import pytest
import websockets
from django.test import override_settings

from apps.core.logging import RequestIdFilter, request_id_var
from apps.core.tasks import heartbeat


@pytest.mark.django_db
def test_healthz_answers_without_touching_dependencies(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_not_ready_while_no_worker_has_sent_a_heartbeat(client):
    response = client.get("/readyz")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == "ok"
    assert checks["redis"] == "ok"
    assert checks["storage"] == "ok"
    assert checks["workers"]["ok"] is False
    assert checks["workers"]["heartbeat_age_seconds"]["media"] is None


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_readyz_is_ready_once_a_real_worker_serves_every_queue(
    client, celery_worker_process, settings
):
    # given: a heartbeat sent to each queue, as beat does every 30 s
    for queue in settings.SWIPEME_QUEUES:
        heartbeat.apply_async(args=[queue], queue=queue)

    # when: the worker process has taken them
    deadline = time.monotonic() + 60
    response = client.get("/readyz")
    while response.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.25)
        response = client.get("/readyz")

    # then
    assert response.status_code == 200, response.json()
    ages = response.json()["checks"]["workers"]["heartbeat_age_seconds"]
    assert set(ages) == set(settings.SWIPEME_QUEUES)
    assert all(age is not None and age < 60 for age in ages.values())


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_busy_or_idle_worker_heartbeats_its_queues_without_any_task(
    client, celery_worker_process, settings
):
    # given: no heartbeat anywhere (the autouse fixture flushed Redis) and no beat running
    assert client.get("/readyz").status_code == 503

    # when: only the worker's own timer runs (every 30 s, see swipeme_site/celery.py)
    deadline = time.monotonic() + 75
    response = client.get("/readyz")
    while response.status_code != 200 and time.monotonic() < deadline:
        time.sleep(0.5)
        response = client.get("/readyz")

    # then: every queue it consumes is reported served, although no task was sent
    assert response.status_code == 200, response.json()
    ages = response.json()["checks"]["workers"]["heartbeat_age_seconds"]
    assert set(ages) == set(settings.SWIPEME_QUEUES)


@pytest.mark.django_db
def test_metrics_are_exported_for_prometheus(client):
    client.get("/healthz")
    response = client.get("/metrics")
    assert response.status_code == 200
    text = response.content.decode()
    assert "django_http_requests_total_by_method_total" in text
    assert 'method="GET"' in text


@pytest.mark.django_db
def test_metrics_need_the_token_when_one_is_configured(client):
    with override_settings(METRICS_TOKEN="s3cret-token"):
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
        assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer s3cret-token").status_code == 200


@pytest.mark.django_db
def test_pages_carry_security_headers_and_a_strict_csp(client):
    response = client.get("/")
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src"))
    assert "'unsafe-inline'" not in script_src  # inline scripts need the per-request nonce
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert "geolocation=()" in response["Permissions-Policy"]


@pytest.mark.django_db
def test_api_responses_are_never_stored_by_shared_caches(client):
    assert client.get("/api/v1/ping")["Cache-Control"] == "private, no-store"


@pytest.mark.django_db
def test_request_ids_are_taken_from_the_proxy_when_sane_and_made_otherwise(client):
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="abc123-proxy-id")
    assert kept["X-Request-ID"] == "abc123-proxy-id"
    replaced = client.get("/healthz", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert replaced["X-Request-ID"] != "<script>alert(1)</script>"
    assert len(replaced["X-Request-ID"]) == 32


def test_log_lines_are_json_and_carry_the_request_id():
    from pythonjsonlogger.json import JsonFormatter

    formatter = JsonFormatter("%(levelname)s %(name)s %(message)s %(request_id)s")
    record = logging.LogRecord("swipeme", logging.INFO, __file__, 1, "hello", None, None)
    token = request_id_var.set("req-42")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_var.reset(token)
    line = json.loads(formatter.format(record))
    assert line == {
        "levelname": "INFO",
        "name": "swipeme",
        "message": "hello",
        "request_id": "req-42",
    }


@pytest.mark.django_db(transaction=True)
def test_websocket_round_trip_through_the_redis_channel_layer(live_asgi_server):
    url = live_asgi_server.replace("http://", "ws://") + "/ws/ping/"

    async def talk() -> Any:
        async with websockets.connect(url, origin=live_asgi_server) as ws:  # type: ignore[arg-type]
            await ws.send(json.dumps({"hello": "swipeme"}))
            return json.loads(await asyncio.wait_for(ws.recv(), timeout=10))

    reply = asyncio.run(talk())
    assert reply == {"type": "pong", "echo": {"hello": "swipeme"}, "authenticated": False}


@pytest.mark.django_db(transaction=True)
def test_websockets_from_foreign_origins_are_refused(live_asgi_server):
    url = live_asgi_server.replace("http://", "ws://") + "/ws/ping/"

    async def talk() -> None:
        async with websockets.connect(url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus):
        asyncio.run(talk())
