"""Where a late delivery waited: the messaging benchmark's server-side trace (bench only).

With `SWIPEME_BENCH_TRACE=<file>` in its environment (bench/messaging.py `--trace`), the
benchmark's server (bench/messaging_asgi.py) appends JSON lines to the file, every time
from `time.perf_counter()` (CLOCK_MONOTONIC: the same clock as the clients' in the bench's
process on this machine):

- `{"k": "send", "c": client id, "t0": the send frame's handler began, "q": the send's
  database call began on its pool thread, "d": it returned there, "cpu": that thread's CPU
  in it (s), "p": pid}`;
- `{"k": "ann", "c": client id, "r": the loop began sending the message's announcement,
  "a": it was in Redis}`;
- `{"k": "dl", "c": client id, "u": the member, "t": their connection began handling the
  message}`;
- `{"k": "lag", "t": when the event loop's 5 ms tick ran, "ms": how late}` (>= LAG_LOG_MS);
- `{"k": "gc", "t": start, "ms": the collection's pause, "g": generation, "n": the objects
  it walked (generations 0..g; counted for g >= 1 only, else -1), "x": collected, "cpu": the
  collecting thread's CPU in it (ms): the pause without the machine's stretch}` (>= 5 ms);
- `{"k": "young", "t": the pass's start, "g": generation, "n0": the young generation's
  objects, "count": gc.get_count() at the start, "types": [[type, objects], ...] the 12
  commonest, "samples": {type: [repr, ...]}}`: at the first YOUNG_HISTOGRAMS passes whose
  young generation holds YOUNG_BIG objects or more (what fills it while the net count
  stays under threshold 0).

`analyse(...)` (bench/messaging.py prints it) splits each paced message's slowest delivery
into those stages. Nothing here runs without the variable."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import threading
import time
from typing import Any

LAG_LOG_MS = 15.0
TICK = 0.005
YOUNG_BIG = 30_000
YOUNG_HISTOGRAMS = 4


class _Trace:
    def __init__(self, path: str) -> None:
        self.file = open(path, "a", buffering=1)  # noqa: SIM115 - the process's life
        self.lock = threading.Lock()
        self.pid = os.getpid()
        self.gc_began = 0.0
        self.young = -1
        self.gc_cpu = 0.0
        self.ticker: asyncio.Task[None] | None = None
        self.histograms = 0

    def write(self, **record: Any) -> None:
        record["p"] = self.pid
        line = json.dumps(record)
        with self.lock:
            self.file.write(line + "\n")

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        generation = info.get("generation") or 0
        if phase == "start":
            # the objects the collection walks (a middle or full one's only: counting costs
            # a pass over them, before the pause is timed)
            self.young = (sum(len(gc.get_objects(g)) for g in range(generation + 1))
                          if generation >= 1 else -1)
            if self.histograms < YOUNG_HISTOGRAMS:
                self.histogram(generation)
            self.gc_began = time.perf_counter()
            self.gc_cpu = time.thread_time()
            return
        spent = (time.perf_counter() - self.gc_began) * 1e3
        if spent >= 5.0:
            self.write(k="gc", t=self.gc_began, ms=round(spent, 1), g=generation,
                       n=self.young, x=info.get("collected"),
                       cpu=round((time.thread_time() - self.gc_cpu) * 1e3, 1))

    def histogram(self, generation: int) -> None:
        count = gc.get_count()
        young = gc.get_objects(0)
        if len(young) < YOUNG_BIG:
            return
        self.histograms += 1
        types: dict[str, int] = {}
        samples: dict[str, list[str]] = {}
        for obj in young:
            name = type(obj).__qualname__
            types[name] = types.get(name, 0) + 1
        top = sorted(types.items(), key=lambda item: -item[1])[:12]
        for name, _ in top[:8]:
            picked = [o for o in young[::97] if type(o).__qualname__ == name][:4]
            samples[name] = [_short(o) for o in picked]
        self.write(k="young", t=time.perf_counter(), g=generation, n0=len(young),
                   count=list(count), types=top, samples=samples)

    async def tick(self) -> None:
        while True:
            due = time.perf_counter() + TICK
            await asyncio.sleep(TICK)
            late = (time.perf_counter() - due) * 1e3
            if late >= LAG_LOG_MS:
                self.write(k="lag", t=time.perf_counter(), ms=round(late, 1))


def _short(obj: Any) -> str:
    try:
        if isinstance(obj, (tuple, list)):
            text = "(" + ", ".join(type(o).__qualname__ for o in obj[:6]) + ")"
        elif isinstance(obj, dict):
            text = "{" + ", ".join(map(str, list(obj)[:6])) + "}"
        elif type(obj).__name__ in ("function", "method", "cell", "frame", "coroutine"):
            text = repr(getattr(obj, "__qualname__", None) or getattr(obj, "cr_code", obj))
        else:
            text = repr(obj)
    except Exception as exc:  # noqa: BLE001 - a repr that fails names its error
        text = f"<{type(exc).__name__}>"
    return text[:200]


def install(path: str) -> None:
    """Wrap the consumer's send and delivery, the send's database call and the
    announcements' send (module attributes: production code is unchanged)."""
    from apps.messaging import consumers, live, services

    trace = _Trace(path)
    gc.callbacks.append(trace.on_gc)
    spans: dict[str, dict[str, Any]] = {}
    consumer = consumers.MessagesConsumer

    original_connect = consumer.connect
    original_send = consumer._send
    original_message = consumer.msg_message
    original_send_message = services.send_message
    original_collected = live.send_collected

    async def connect(self: Any) -> None:
        if trace.ticker is None:
            trace.ticker = asyncio.ensure_future(trace.tick())
        await original_connect(self)

    async def send(self: Any, content: dict[str, Any]) -> None:
        client_id = str(content.get("client_id"))
        span = spans.setdefault(client_id, {"t0": time.perf_counter()})
        try:
            await original_send(self, content)
        finally:
            spans.pop(client_id, None)
            trace.write(k="send", c=client_id, **span)

    def send_message(*args: Any, **kwargs: Any) -> Any:
        span = spans.get(str(kwargs.get("client_id")), {})
        span["q"] = time.perf_counter()
        cpu = time.thread_time()
        try:
            return original_send_message(*args, **kwargs)
        finally:
            span["d"] = time.perf_counter()
            span["cpu"] = round(time.thread_time() - cpu, 5)

    async def send_collected(messages: list[Any]) -> None:
        client_ids = [m.get("message", {}).get("client_id") for _, m in messages
                      if m.get("type") == "msg.message"]
        began = time.perf_counter()
        await original_collected(messages)
        if client_ids:
            trace.write(k="ann", c=str(client_ids[0]), r=began, a=time.perf_counter())

    async def msg_message(self: Any, event: dict[str, Any]) -> None:
        client_id = (event.get("message") or {}).get("client_id")
        if client_id and (event.get("message") or {}).get("sender", {}).get("id") != getattr(
                self, "me", None):
            trace.write(k="dl", c=client_id, u=getattr(self, "me", None), t=time.perf_counter())
        await original_message(self, event)

    consumer.connect = connect  # type: ignore[method-assign]
    consumer._send = send  # type: ignore[method-assign]
    consumer.msg_message = msg_message  # type: ignore[method-assign]
    services.send_message = send_message
    live.send_collected = send_collected


def analyse(path: str, sent_at: dict[str, float], got: dict[tuple[int, str], list[float]],
            client_ids: list[str], late_ms: float = 200.0) -> list[str]:
    """Each message's slowest delivery split into stages (ms): client -> the server's send
    handler (`in`), -> its pool thread (`pool`), -> the loop starting its announcement
    (`call`: the database call up to there), the announcement into Redis (`ann`), -> the
    member's connection handling it (`fan`), -> the client's receipt (`out`); beside them
    the whole database call (`db`, overlapping `ann` and `fan` when the announcement
    leaves at the commit) and its thread's CPU (`cpu`); and, for the late ones, the loop
    lags and collections in their window."""
    sends: dict[str, dict[str, Any]] = {}
    handled: dict[tuple[int, str], float] = {}
    lags: list[tuple[float, float, str]] = []
    with open(path) as lines:
        for line in lines:
            record = json.loads(line)
            if record["k"] in ("send", "ann"):
                sends.setdefault(record["c"], {}).update(record)
            elif record["k"] == "dl" and record.get("u"):
                handled.setdefault((int(record["u"]), record["c"]), record["t"])
            elif record["k"] in ("lag", "gc"):
                start = record["t"] - record["ms"] / 1e3 if record["k"] == "lag" else record["t"]
                lags.append((start, record["ms"],
                             f"{record['k']}{record.get('g', '')} {record['ms']:.0f}"))
    by_message: dict[str, list[tuple[float, int]]] = {}
    for (uid, client_id), times in got.items():
        by_message.setdefault(client_id, []).append((times[0], uid))
    stages = ("in", "pool", "call", "db", "cpu", "ann", "fan", "out", "total")
    rows: list[dict[str, float]] = []
    out: list[str] = []
    for client_id in client_ids:
        span = sends.get(client_id)
        receipts = by_message.get(client_id)
        if span is None or not receipts or not {"q", "d", "r", "a"} <= set(span):
            continue
        received, uid = max(receipts)
        began = handled.get((uid, client_id))
        if began is None:
            continue
        sent = sent_at[client_id]
        row = {"in": span["t0"] - sent, "pool": span["q"] - span["t0"],
               "call": span["r"] - span["q"], "db": span["d"] - span["q"], "cpu": span["cpu"],
               "ann": span["a"] - span["r"], "fan": began - span["a"],
               "out": received - began, "total": received - sent}
        rows.append({k: v * 1e3 for k, v in row.items()})
        if row["total"] * 1e3 >= late_ms:
            near = [text for start, spent, text in lags
                    if start < received and start + spent / 1e3 > sent]
            out.append(f"    late {client_id}: " + ", ".join(
                f"{k} {v * 1e3:.0f}" for k, v in row.items())
                + f"; loop lags/collections in its window: {', '.join(near) or 'none'}")
    if rows:
        def pct(key: str, q: float) -> float:
            values = sorted(r[key] for r in rows)
            return values[min(len(values) - 1, int(len(values) * q))]
        out.insert(0, f"  trace of {len(rows)} messages' slowest deliveries (ms), "
                      "p50 / p90 / max: " + "; ".join(
                          f"{k} {pct(k, 0.5):.0f}/{pct(k, 0.9):.0f}/{pct(k, 1.0):.0f}"
                          for k in stages))
    window = [sent_at[c] for c in client_ids if c in sent_at]
    first, last = min(window, default=0.0), max(window, default=0.0) + 5.0
    gcs = [spent for start, spent, text in lags if text.startswith("gc") and first <= start <= last]
    loop = [spent for start, spent, text in lags
            if text.startswith("lag") and first <= start <= last]
    out.append(f"  in the phase: {len(loop)} loop lags >= {LAG_LOG_MS:.0f} ms (longest "
               f"{max(loop, default=0):.0f} ms), {len(gcs)} collections >= 5 ms (longest "
               f"{max(gcs, default=0):.0f} ms, sum {sum(gcs) / 1e3:.1f} s)")
    return out
