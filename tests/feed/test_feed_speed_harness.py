"""bench/feed_speed.py's phases against a stand-in HTTP server (no timings asserted): which
viewers each phase sends, and the share of measured answers that were a viewer's first on
that server (`--fresh-viewers` continues the viewers' order across phases; without it
every phase starts again at the first viewer, as before)."""

from __future__ import annotations

import argparse
import asyncio
import os

import pytest

from tests.bench_scripts import load_bench

BODY = b'{"results":[{"type":"post","id":"1"},{"type":"post","id":"2"}]}'


async def _serve(log: list[str]) -> tuple[asyncio.AbstractServer, int]:
    """Answers every GET with two posts, logging each request's session token."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                for line in head.decode("latin-1").split("\r\n"):
                    if line.lower().startswith("x-session-token:"):
                        log.append(line.split(":", 1)[1].strip())
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                             b"Content-Length: %d\r\n\r\n%s" % (len(BODY), BODY))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


def _measure(tokens: list[str | None], *, fresh: bool, connections: int) -> tuple[
        list[str], list[object]]:
    feed_speed = load_bench("feed_speed")
    args = argparse.Namespace(timeout=10.0, warmup=0.2, duration=0.5, fresh_viewers=fresh)
    log: list[str] = []

    async def run() -> list[object]:
        server, port = await _serve(log)
        try:
            visits = feed_speed.Visits()
            rows = []
            for n in (1, connections):  # as run_all: c=1, then c=n, one server
                rows.append(await feed_speed.measure(
                    f"c={n} for-you", "/api/v1/feed/for-you", tokens, port, os.getpid(),
                    args, n, visits))
            return rows
        finally:
            server.close()
            await server.wait_closed()

    return log, asyncio.run(run())


@pytest.mark.parametrize("fresh", [True, False])
def test_phases_send_the_viewers_in_turn_and_count_their_first_visits(fresh: bool) -> None:
    tokens: list[str | None] = [f"viewer{i}" for i in range(40_000)]
    log, rows = _measure(tokens, fresh=fresh, connections=4)
    one, many = rows
    measured = one.requests  # type: ignore[attr-defined]
    assert measured > 0
    assert many.requests > 0  # type: ignore[attr-defined]
    assert one.posts_per_page == 2.0  # type: ignore[attr-defined]
    if fresh:
        # The probe, the warm-up and the measured phases take the viewers in order without
        # starting again: no viewer is sent twice (far fewer requests than viewers), so
        # every measured page is a viewer's first on this server.
        assert len(set(log)) == len(log)
        assert log[: 1 + measured] == tokens[: 1 + measured]
        assert one.first_share == 1.0  # type: ignore[attr-defined]
        assert many.first_share == 1.0  # type: ignore[attr-defined]
    else:
        # Every phase starts again at the first viewer (the probe, the warm-up, the measured
        # phase): the measured phase revisits the warm-up's viewers.
        assert log[:2] == [tokens[0], tokens[0]]
        assert log.count("viewer0") >= 3
        assert one.first_share < 1.0  # type: ignore[attr-defined]
        assert many.first_share < 1.0  # type: ignore[attr-defined]
