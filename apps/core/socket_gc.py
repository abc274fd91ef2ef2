"""The garbage collector of a worker that holds websocket connections (`ws/messages/` and
`ws/live/<id>/`: each consumer calls `tune_once` at its connect).

A collection of the oldest generation walks every live object with the event loop stopped.
A worker holding thousands of sockets holds millions of objects (each connection's
consumer, protocol, buffers, its person and membership rows), and with CPython's default
thresholds (700, 10, 10) it ran a full collection every few seconds while the heap grew:
bench/messaging.py's server log at 5,000 sockets (load 7-8, 7 December 2026) showed 21 full
collections of 0.3-4.0 s in the first worker's 8 minutes and 30 of 0.6-4.4 s in the
restarted one's reconnect storm, each one every socket's delivery stopped for that long
(the paced phase's p99 of 4,972 ms was one of them; the storm's 265 s held ~80 s of them).

So, once, when the process takes its first such connection:
- `gc.freeze()`: what exists by then (Django, the apps, the models, the engine's Python
  side: ~300,000 objects, ~200 ms a full pass on a busy machine) moves to the permanent
  generation, which no collection walks again (none of it is garbage: it lives as long as
  the process; the few cycles it may hold are kept, once).
- thresholds (10,000, 10, 100): young collections ~14x rarer (each request and send makes
  tens of thousands of short-lived objects; a young pass is cheap but happens less), and
  a full pass considered after 100 middle ones instead of 10 (CPython also waits until
  the objects promoted since the last full pass are a quarter of the old generation).
  Cyclic garbage is still collected, later: the young generations catch almost all of it
  (a request's or a send's objects die young); what reached the old generation waits for
  the next full pass. (10,000, 2, 500) was tried (16:55 session, docs/benchmarks.md
  "Direct messages"): middle passes a third as large in a connect storm, but at 5,000
  sockets the paced phase's pause (a young generation grown to ~145,000 objects, walked
  by a young pass and then a middle one, with either threshold) stayed, and the
  reconnect storm's figures could not be told from the load; kept at 10. A young pass on
  the loop every 0.5 s (the young count is allocations less deallocations, so the
  generation can fill while old objects die) was tried next and reverted: its quiet runs
  (the lead, 18:38 UTC: paced p99 341 / 474 / 327 ms) were worse than the 15:45 runs
  without it, but the runs without it that followed (18:49) were as slow (the machine's
  CPU per socket was 15-40 % higher than at 15:45 in both). The interleaved A/B that
  followed (20:05 session: a young pass every 0.1 s and a middle one every 2 s, against
  none, 2 pairs at 5,000 sockets) was not better on the medians (paced p99 583 against
  501 ms), so none runs. What fills the young generation is each connection's pending
  awaits (asyncio's, websockets' and channels_redis's; docs/benchmarks.md "Direct
  messages").

Only in a process that serves such sockets (the first connection tunes it): processes that
never do (management commands, the test runner until a test connects, the task workers)
keep CPython's defaults.

The live chat's room showed the same (bench/live_chat.py --trace, echo phase, 2,000
sockets at 10 messages/s, 7 December 2026, load 6-10): untuned, a full collection of
604 ms with the loop stopped (every delivery of the process held for it); tuned, no full
collection in the run. The likely cause of the echo's fixed p99 of ~0.58 s at any rate on
a quiet machine (to be confirmed there)."""

from __future__ import annotations

import gc
import logging

logger = logging.getLogger(__name__)

THRESHOLDS = (10_000, 10, 100)
_tuned = False


def tune_once() -> None:
    global _tuned
    if _tuned:
        return
    _tuned = True
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
    logger.info("sockets: GC tuned for a socket worker (%s objects frozen, thresholds %s)",
                gc.get_freeze_count(), THRESHOLDS)

