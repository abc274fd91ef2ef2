"""The messaging benchmark (bench/messaging.py) in its quick mode, so that it cannot rot: 30
members in 3 conversations on a real uvicorn (the bench's ASGI app, with its conversation
echo), the echo and `ws/messages/` each through the capacity and paced phases, and the
real endpoint across a SIGKILL and restart of the web worker. Asserts what the benchmark
reports as met or not: nothing lost, duplicated or out of order, one stored row per client
id. No wall-clock figure is asserted."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from django.db import close_old_connections

from tests.bench_scripts import load_bench
from tests.conftest import _subprocess_env

pytestmark = pytest.mark.django_db(transaction=True)


def test_quick_mode_loses_nothing_across_a_restart() -> None:
    bench = load_bench("messaging", name="bench_messaging")
    from api_latency import free_port

    bench.seed(30, 10, 5)
    members = bench.members_with_sessions(30)
    assert len({m.conversation for m in members}) == 3
    opts = bench.WsSettings(rate=10.0, seconds=3.0, capacity_seconds=2.0, settle=60.0,
                            restart=True)

    def on_db(fn: Any) -> Any:
        try:
            return fn()
        finally:
            close_old_connections()

    server = bench.bench_server(free_port(), _subprocess_env(), "test-messaging-bench.log")
    server.start()
    try:
        echo = asyncio.run(bench.ws_endpoint(server, members, bench.ECHO_PATH, True, opts,
                                             "te", on_db))
        real = asyncio.run(bench.ws_endpoint(server, members, bench.MESSAGES_PATH, False,
                                             opts, "tm", on_db))
    finally:
        server.stop()
    assert echo["capacity"]["messages"] > 0  # the real one's first send warms the server up
    for result in (echo, real):
        assert result["paced"]["messages"] == 30
        assert (result["paced"]["lost"], result["paced"]["duplicated"],
                result["paced"]["unacked"]) == (0, 0, 0)
        assert result["refused_count"] == 0, result["refused"]
    assert "restart" not in echo
    restart = real["restart"]
    assert restart["reconnects"] >= 30  # every socket was dropped and came back
    assert (restart["messages"], restart["lost"], restart["duplicated"],
            restart["unacked"]) == (30, 0, 0, 0)
    assert real["out_of_order"] == 0
    assert (real["db_missing"], real["db_duplicated"]) == (0, 0)
