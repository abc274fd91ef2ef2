"""Django's ASGI handler with one thread hop, not three, for the API's sync views.

Django runs a middleware list that holds any sync-only entry (ours, WhiteNoise) in sync
mode inside an async handler: the handler hops to the sync thread for the chain, the
innermost middleware hops back to the event loop for `_get_response_async`, which hops
to the thread again to call the (sync) DRF view. Each hop is a thread hand-off, and on
the API's ping they cost more than the view (bench/api_middleware_cost.py).

`OneHopASGIHandler` sends a `/api/` request whose view is sync to a handler whose whole
chain, view included, is sync and runs in one `sync_to_async` call (thread-sensitive, as
Django's own hops are): one hop, as a bare DRF project has. Anything else (pages, the
async views such as live's LL-HLS blocking reload, which must not hold the sync thread
while it waits, websockets are routed before this) goes to Django's handler unchanged.
Both are ASGIHandler (the body, the request, the answer, streaming: Django's code). The
one-hop handler's handle() also sends request_started and creates the request in the
chain's hop (Django hops once for the signal and once for the chain), so a request takes
two hops in all (that one and the response's close); it then sends the answer while
listening for a disconnect, as Django does. (Django would stop waiting for a sync view
whose client left; the view ran to its end either way.)

The one-hop handler also keeps its sync threads. Django enters a fresh
`ThreadSensitiveContext()` per request, which starts a thread for the request's sync work
and joins it from another new thread afterwards: two thread starts per request (in
process, 1.22 ms of CPU per ping with them, 1.09 ms without; 5 interleaved rounds of
1,500 requests, load 8). Here each request borrows a single-thread executor
from `_EXECUTORS` for its whole life (asgiref's `ThreadSensitiveContext(executor=...)`),
so request_started, the chain and the view, and the response's close (request_finished)
still share one thread, as Django's do, and the thread serves the next request. Requests
in flight at once each get their own (a new one when none is idle), so a slow view never
queues the others behind it; at most `KEEP_IDLE` idle ones are kept. Under an
`async_to_sync` caller (tests, management code) Django's own context runs instead: the
caller's thread, and its open transaction, serve the sync work as before.
"""

from __future__ import annotations

import asyncio
import contextlib
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from asgiref.sync import AsyncToSync, ThreadSensitiveContext, iscoroutinefunction, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse, HttpResponseBase
from django.urls import Resolver404, resolve, set_script_prefix

# idle single-thread executors kept for the next requests (one per request in flight)
KEEP_IDLE = 8


class _ExecutorPool:
    """Single-thread executors lent to one request at a time; used from the event loop's
    thread only (take and give never run concurrently)."""

    def __init__(self, keep: int = KEEP_IDLE) -> None:
        self.keep = keep
        self.idle: list[ThreadPoolExecutor] = []

    def take(self) -> ThreadPoolExecutor:
        if self.idle:
            return self.idle.pop()  # the most recently used: its thread and connection are warm
        return ThreadPoolExecutor(max_workers=1, thread_name_prefix="api-sync")

    def give(self, executor: ThreadPoolExecutor, *, reusable: bool) -> None:
        if reusable and len(self.idle) < self.keep:
            self.idle.append(executor)
        else:
            executor.shutdown(wait=False)  # its thread ends once its queued work is done


_EXECUTORS = _ExecutorPool()


class _OneHopChainHandler(ASGIHandler):
    def load_middleware(self, is_async: bool = False) -> None:
        super().load_middleware(is_async=False)  # the whole chain sync, called in handle()

    def _respond(self, scope: dict[str, Any], body_file: Any) -> HttpResponseBase:
        """request_started, the request and the sync chain with its view: one hop."""
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            assert error_response is not None
            return error_response
        response = self.get_response(request)
        response._handler_class = self.__class__  # type: ignore[attr-defined]
        if isinstance(response, FileResponse):
            response.block_size = self.chunk_size
        return response

    async def handle(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Django's handle() with request_started, the request's creation and the chain in
        one thread hop (Django: the signal's hop, then the chain's), then the answer sent
        while listening for a disconnect, then the response's close (request_finished)."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file)
        tasks = [
            # as Django: the listener first, so that its end cancels the sending
            asyncio.create_task(self.listen_for_disconnect(receive)),
            asyncio.create_task(self.send_response(response, send)),
        ]
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in tasks:
            if task.done():
                try:
                    task.result()
                except RequestAborted:
                    pass  # the client went away
                except AssertionError:
                    body_file.close()
                    raise
            else:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await sync_to_async(response.close, thread_sensitive=True)()
        body_file.close()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if getattr(AsyncToSync.executors, "current", None) is not None:
            await super().__call__(scope, receive, send)  # the caller's thread serves it
            return
        executor = _EXECUTORS.take()
        reusable = False
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
            # handle() ends with a call on this executor (the response's close): the
            # thread is idle now
            reusable = True
        finally:
            _EXECUTORS.give(executor, reusable=reusable)


def _sync_api_view(path: str) -> bool:
    if not path.startswith("/api/"):
        return False
    try:
        match = resolve(path)
    except Resolver404:
        return True  # a 404 in the error shape, answered by the sync chain
    return not iscoroutinefunction(match.func)


class OneHopASGIHandler:
    def __init__(self, django: ASGIHandler | None = None) -> None:
        self.one_hop = _OneHopChainHandler()
        self.django = django if django is not None else ASGIHandler()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        root = scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]
        if scope["type"] == "http" and _sync_api_view(path):
            await self.one_hop(scope, receive, send)
        else:
            await self.django(scope, receive, send)
