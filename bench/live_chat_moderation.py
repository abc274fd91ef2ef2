"""Live chat moderation, in process (issue 18): the CPU of a chat line's text checks
(`live.chat.filters.check`: moderation's `text_verdict` at the live-chat surface), the way
the chat did it before session 38 against the way it does now, on the same lines.

    flock /tmp/bench.lock .venv/bin/python bench/live_chat_moderation.py --runs 3

- The lines: `--texts` (500) chat-length lines (<= 200 characters) drawn from the heads'
  labelled set in eight languages (en, es, pt, fr, de, tr, ar, ja; harmful and everyday),
  each distinct, the same lines and order for both ways (`--seed`).
- **before**: one line at a time as the chat did (`filters.abuse_score` for the classifier,
  then `text_verdict` reading the staff's configuration and embedding the line alone).
- **after**: the lines in groups of `--group` (5: what 50 lines/s bring in 100 ms) through
  `filters.scores_for` from `--group` threads at once (the batch: one classifier call and
  one embedding call for the group), then `text_verdict` with the kept configuration.
- **after, flood**: the same, with `--repeat` (30 %) of the lines a copy of one of the 20
  previous lines (a spam flood's repeats hit the memo).
- **embedding alone**: the engine's CPU a text embedded one by one and in groups of
  `--group`, on the same lines (does batching make it cheaper?).

CPU: the process's user+system time (`resource`), divided by the lines. Its own database
(`bench_live_chat_small`, the chat bench's small one: an author; made if missing). The
load average before/after each run (bench/_runs.py).
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR / "bench"))

from _runs import Runs, add_arguments  # noqa: E402


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def lines(count: int, seed: int) -> list[str]:
    path = BASE_DIR / "apps/moderation/detection/data/text_labels.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    picked = list(dict.fromkeys(r["text"][:200] for r in rows if r["text"].strip()))
    random.Random(seed).shuffle(picked)
    return picked[:count]


def flood(texts: list[str], share: float, seed: int) -> list[str]:
    rng = random.Random(seed + 1)
    out: list[str] = []
    for t in texts:
        out.append(rng.choice(out[-20:]) if out and rng.random() < share else t)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_arguments(parser, default_runs=3)
    parser.add_argument("--texts", type=int, default=500)
    parser.add_argument("--group", type=int, default=5)
    parser.add_argument("--repeat", type=float, default=0.3)
    parser.add_argument("--seed", type=int, default=38)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()

    import live_chat
    from search_speed import ensure_database

    url = args.database_url or live_chat.DEFAULT_DB + "_small"
    env = live_chat.bench_env(url, 13)
    ensure_database(url, recreate=False, env=env)
    live_chat.django_setup(env)
    live_chat.seed(4)

    from apps.accounts.models import User
    from apps.live.chat import filters
    from apps.moderation.detection import heads
    from apps.moderation.detection.models import SEVERITY
    from apps.moderation.detection.services import text_config, text_verdict
    from apps.moderation.policies import Policy

    author = User.objects.filter(username__startswith=live_chat.PREFIX).order_by("pk").first()
    assert author is not None
    texts = lines(args.texts, args.seed)
    flooded = flood(texts, args.repeat, args.seed)
    print(
        f"{len(texts)} lines ({len(set(flooded))} distinct in the flood), groups of {args.group}, "
        f"flood {args.repeat:.0%} repeats",
        flush=True,
    )
    bar = filters._bar(Policy.HATE_HARASSMENT)

    def before(body: str) -> Any:
        return text_verdict(
            content=body,
            author=author,
            language=author.language,
            field="live_chat",
            classifier_from=bar,
            abuse_known=filters.abuse_score(body),
        )

    def after(body: str) -> Any:
        scores = filters.scores_for(body)
        return text_verdict(
            content=body,
            author=author,
            language=author.language,
            field="live_chat",
            classifier_from=bar,
            abuse_known=scores.abuse,
            heads_known=scores.heads,
            config=text_config.text_config(),
        )

    def hidden(verdict: Any) -> bool:
        return any(
            SEVERITY[d.outcome] >= SEVERITY[filters._bar(d.policy)] for d in verdict.decisions
        )

    # warm: the models load, the connection opens
    before("warm up line")
    after("warm up line two")
    filters.memo.clear()

    pool = ThreadPoolExecutor(max_workers=args.group)
    runs = Runs("live_chat_moderation", args)
    for run in runs:
        heads.embed_one.cache_clear()
        filters.memo.clear()
        start = cpu_s()
        said_before = [hidden(before(t)) for t in texts]
        cpu_before = (cpu_s() - start) * 1000 / len(texts)

        heads.embed_one.cache_clear()
        filters.memo.clear()
        calls = filters.scores_of.calls
        start = cpu_s()
        said_after: list[bool] = []
        for i in range(0, len(texts), args.group):
            said_after += [hidden(v) for v in pool.map(after, texts[i : i + args.group])]
        cpu_after = (cpu_s() - start) * 1000 / len(texts)
        batches = filters.scores_of.calls - calls

        filters.memo.clear()
        hits = filters.memo.hits
        start = cpu_s()
        for i in range(0, len(flooded), args.group):
            list(pool.map(after, flooded[i : i + args.group]))
        cpu_flood = (cpu_s() - start) * 1000 / len(flooded)
        hits = filters.memo.hits - hits

        start = cpu_s()
        for t in texts:
            heads.embed([t])
        embed_one = (cpu_s() - start) * 1000 / len(texts)
        start = cpu_s()
        for i in range(0, len(texts), args.group):
            heads.embed(texts[i : i + args.group])
        embed_group = (cpu_s() - start) * 1000 / len(texts)

        differ = sum(a != b for a, b in zip(said_before, said_after, strict=True))
        print(
            f"  hidden before {sum(said_before)}, after {sum(said_after)}, verdicts that "
            f"differ {differ}; {batches} batches; flood memo hits {hits}",
            flush=True,
        )
        run.figure("before: CPU ms a line (one at a time)", cpu_before, "ms")
        run.figure("after: CPU ms a line (batched, kept config)", cpu_after, "ms")
        run.figure("after, flood: CPU ms a line (memo)", cpu_flood, "ms")
        run.figure("embedding alone, one at a time: CPU ms a text", embed_one, "ms")
        run.figure(f"embedding alone, groups of {args.group}: CPU ms a text", embed_group, "ms")
        run.figure("verdicts that differ", differ)
        run.ratio("after/before CPU", cpu_after, cpu_before)
        run.ratio("after flood/before CPU", cpu_flood, cpu_before)
        run.ratio("embedding grouped/one", embed_group, embed_one)
        time.sleep(0)
    pool.shutdown()
    runs.summary()
    return 0


if __name__ == "__main__":
    sys.exit(main())
