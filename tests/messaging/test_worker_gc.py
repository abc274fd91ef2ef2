"""A socket worker's middle-generation collections stay short (`apps.core.socket_gc`).

A collection of generation 1 walks every object of generations 0 and 1 with the event
loop stopped; in a socket worker (thousands of connections; in a connect storm almost
every new object lives on) that walk was ~99,000 objects and ~53 ms of CPU with thresholds
(10,000, 10, 100): the pause a 5,000-socket run's paced delivery p99 waited behind. In a
process of its own (thresholds are process-wide), after `tune_once`: objects that all
survive (a storm's worst case) are made and every generation-1 pass's walk is counted;
cyclic garbage made meanwhile is still collected by the automatic passes (no explicit
`gc.collect`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

CODE = r"""
import gc, json, weakref, django
django.setup()
from apps.messaging import worker_gc
worker_gc.tune_once()
walked = []

def on_gc(phase, info):
    if phase == "start" and info["generation"] == 1:
        walked.append(len(gc.get_objects(0)) + len(gc.get_objects(1)))

gc.callbacks.append(on_gc)

class Node:
    pass

kept, probes = [], []
for i in range(400_000):  # every one of these lives on, as a storm's connections do
    kept.append([i])
    if i % 1000 == 0:  # and some cyclic garbage that dies young
        a, b = Node(), Node()
        a.other, b.other = b, a
        probes.append(weakref.ref(a))
        del a, b
gc.callbacks.remove(on_gc)
print(json.dumps({"walked": walked, "alive": sum(p() is not None for p in probes[:-50]),
                  "probes": len(probes) - 50, "thresholds": gc.get_threshold()}))
"""


def test_a_middle_collection_walks_a_few_young_passes_not_ten() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True,
                          timeout=120, env={**os.environ, "DJANGO_SETTINGS_MODULE":
                                            os.environ.get("DJANGO_SETTINGS_MODULE",
                                                           "swipeme_site.settings.dev")},
                          check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    walked = out["walked"]
    assert walked, out
    # each pass walks the young generation and 3 young passes' survivors: 4 x 10,000 (with
    # (10,000, 10, 100) 12 x: ~120,000)
    assert max(walked) <= 45_000, walked
    assert len(walked) >= 10, out  # 400,000 survivors: generation 1 collected often
    assert out["alive"] == 0, out  # the cycles made early are all gone, automatically
