"""What each middleware costs the API's ping, in process, through Django's ASGI handler.

    flock /tmp/bench.lock .venv/bin/python bench/api_middleware_cost.py --requests 2000

For the whole `settings.MIDDLEWARE` and for the same list without each entry in turn, one
ASGI handler is built and `GET /api/v1/ping` is sent to it `--requests` times, one after
another (no server, no socket: the handler's own work, sync/async hops included). The
cost of a middleware is the CPU time per request of the whole list minus that of the list
without it. The rounds interleave the configurations and the figure is the median over
`--rounds`, with the load average printed before and after. Two kinds of call:
`cookieless` (the fast path of apps.core.page_middleware, which a token call takes too; a
token would add its session lookup, which is the view's work) and `cookie` (the web client's cookie
call, the whole chain). Only loopback-free in-process calls; nothing is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "swipeme_site.settings.dev")
os.environ.setdefault("DJANGO_DEBUG", "0")
os.environ["SWIPEME_THROTTLE_ANON_READ"] = "100000000/min"

CALLS: dict[str, list[tuple[bytes, bytes]]] = {
    "cookieless": [],
    "cookie": [(b"cookie", b"csrftoken=" + b"b" * 32)],
}


def scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/api/v1/ping",
        "raw_path": b"/api/v1/ping",
        "query_string": b"",
        "root_path": "",
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
        "headers": [(b"host", b"127.0.0.1"), (b"accept", b"application/json"), *headers],
    }


async def per_request_ms(handler: Any, headers: list[tuple[bytes, bytes]], n: int) -> float | None:
    never = asyncio.Event()

    def receiver() -> Any:
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": b"", "more_body": False}
            await never.wait()  # the client never disconnects; Django cancels this
            return {"type": "http.disconnect"}

        return receive

    statuses: list[int] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    request_scope = scope(headers)
    for _ in range(20):  # warm-up
        await handler(dict(request_scope), receiver(), send)
    started = time.process_time()
    for _ in range(n):
        await handler(dict(request_scope), receiver(), send)
    spent = time.process_time() - started
    if any(s != 200 for s in statuses):
        return None  # the list without it does not work (another middleware needs it)
    return spent * 1000 / n


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    import logging

    import django

    django.setup()
    logging.disable(logging.CRITICAL)  # lists that miss a needed entry answer 500s
    from django.conf import settings
    from django.core.handlers.asgi import ASGIHandler
    from django.utils.module_loading import import_string

    full = list(settings.MIDDLEWARE)
    configs = {"(all)": full} | {entry: [m for m in full if m != entry] for entry in full}
    # Django runs a mixed chain in sync mode: the ASGI handler hops to a thread, the last
    # sync-only middleware hops back to the loop, the sync view hops to the thread again.
    sync_only = [m for m in full if not getattr(import_string(m), "async_capable", False)]
    configs["(none)"] = []
    configs["(without the sync-only ones)"] = [m for m in full if m not in sync_only]
    print(f"load average before: {Path('/proc/loadavg').read_text().strip()}")
    print(
        f"DEBUG={settings.DEBUG}, {args.requests} requests x {args.rounds} rounds per "
        f"configuration, CPU time per request (ms)"
    )
    results: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for name, middleware in configs.items():
            settings.MIDDLEWARE = middleware
            handler = ASGIHandler()
            for call, headers in CALLS.items():
                value = asyncio.run(per_request_ms(handler, headers, args.requests))
                if value is not None:
                    results.setdefault((name, call), []).append(value)
    settings.MIDDLEWARE = full
    from apps.core.asgi import OneHopASGIHandler

    one_hop = OneHopASGIHandler()
    for call, headers in CALLS.items():
        values = [
            asyncio.run(per_request_ms(one_hop, headers, args.requests)) for _ in range(args.rounds)
        ]
        results[("(all, apps.core.asgi one hop)", call)] = [v for v in values if v is not None]
    print(f"load average after: {Path('/proc/loadavg').read_text().strip()}\n")
    base = {call: statistics.median(results[("(all)", call)]) for call in CALLS}
    print(f"{'middleware':<58} {'cookieless':>12} {'cookie call':>12}")
    print(
        f"{'(the whole list, per request)':<58} " + " ".join(f"{base[c]:>9.3f} ms" for c in CALLS)
    )
    print(f"sync-only (no async_capable): {', '.join(m.rsplit('.', 1)[1] for m in sync_only)}")
    for name in ["(all, apps.core.asgi one hop)", "(none)", "(without the sync-only ones)"]:
        print(
            f"{name:<58} "
            + " ".join(
                f"{statistics.median(results[(name, c)]):>9.3f} ms"
                if results.get((name, c))
                else f"{'broken':>12}"
                for c in CALLS
            )
        )
    print("cost of each entry (the whole list minus the list without it):")
    for name in full:
        cells = []
        for c in CALLS:
            without = results.get((name, c))
            cells.append(
                f"{base[c] - statistics.median(without):>+9.3f} ms"
                if without
                else f"{'needed':>12}"
            )
        print(f"{name:<58} " + " ".join(cells))
    return 0


if __name__ == "__main__":
    sys.exit(main())
